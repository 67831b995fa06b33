"""The host_layout action plugin through a real ansible-playbook run on localhost: a throwaway role's templates
and files rendered on the controller, then laid out by the module in one call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[4]
PASSWORD = 's3cret"7q'

LAYOUT_TASK = """\
- name: Lay out
  shardinel.redis.host_layout:
    directories:
      - {path: "{{ layout_root }}/etc", mode: "0750"}
    files:
      - path: "{{ layout_root }}/etc/a.conf"
        template: a.conf.j2
        vars:
          port: 6380
          instance: {name: shard1}
        mode: "0640"
      - {path: "{{ layout_root }}/etc/script.py", src: script.py, mode: "0755"}
      - {path: "{{ layout_root }}/etc/absolute.txt", src: "{{ absolute_src }}"}
      - {path: "{{ layout_root }}/etc/c.txt", content: "{{ greeting }} from content\\n"}
    secrets: ["{{ password }}"]
"""
TEMPLATE = """\
{{ ansible_managed | comment }}
port {{ port }}
name {{ instance.name }}
{% if greeting %}
greeting {{ greeting }}
{% endif %}
requirepass "{{ password | replace('"', '\\\\"') }}"
dest {{ template_destpath | basename }} from {{ template_path }}
"""
RENDERED = """\
#
# Ansible managed
#
port 6380
name shard1
greeting hello
requirepass "s3cret\\"7q"
dest a.conf from a.conf.j2
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_playbook(tmp_path: Path, *options: str, roles: tuple[str, ...] = ("layout_role",), **extra: Any) -> dict[str, Any]:
    """The JSON callback's report of a play on localhost with the roles of tmp_path/roles."""
    collections = subprocess.run(["bash", str(REPO / "scripts" / "collection-path.sh")], capture_output=True, text=True,
                                 check=True).stdout.strip()
    variables = {"layout_root": str(tmp_path / "host"), "greeting": "hello", "password": PASSWORD, "port": 1,
                 "absolute_src": str(tmp_path / "absolute.txt"), "ansible_python_interpreter": sys.executable} | extra
    write(tmp_path / "vars.json", json.dumps(variables))
    write(tmp_path / "play.yml", f"- hosts: localhost\n  gather_facts: false\n  roles: {json.dumps(list(roles))}\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_ROLES_PATH=str(tmp_path / "roles"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{tmp_path / 'vars.json'}",
         *options, str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report (rc {completed.returncode}):\n{completed.stdout}\n{completed.stderr}") from None


def layout_result(report: dict[str, Any], name: str = "Lay out") -> dict[str, Any]:
    [result] = [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"] if task["task"]["name"].endswith(name)]
    return result


@pytest.fixture
def role(tmp_path: Path) -> Path:
    role = tmp_path / "roles" / "layout_role"
    write(role / "tasks" / "main.yml", LAYOUT_TASK)
    write(role / "templates" / "a.conf.j2", TEMPLATE)
    write(role / "files" / "script.py", 'print("{{ not a template }}")\n')
    write(tmp_path / "absolute.txt", "absolute source\n")
    return role


def test_check_diff_then_converge_then_nothing_to_do(tmp_path: Path, role: Path) -> None:
    host = tmp_path / "host"
    check = layout_result(run_playbook(tmp_path, "--check", "--diff"))
    assert check.get("failed") is not True, check
    assert check["changed"] is True and not host.exists()
    files = [str(host / "etc" / name) for name in ("a.conf", "script.py", "absolute.txt", "c.txt")]
    assert check["changed_paths"] == [str(host / "etc")] + files and check["created"] == check["changed_paths"]
    after = {entry["after_header"].split(" ")[0]: entry["after"] for entry in check["diff"]}
    assert after[files[0]] == RENDERED.replace('s3cret\\"7q', "********")
    assert after[files[1]] == 'print("{{ not a template }}")\n'
    assert after[files[2]] == "absolute source\n"
    assert after[files[3]] == "hello from content\n"
    assert "7q" not in json.dumps(check)

    converge = layout_result(run_playbook(tmp_path))
    assert converge["changed"] is True and converge["changed_paths"] == check["changed_paths"] and "diff" not in converge
    assert (host / "etc" / "a.conf").read_text(encoding="utf-8") == RENDERED
    assert (host / "etc" / "script.py").read_text(encoding="utf-8") == 'print("{{ not a template }}")\n'
    assert (host / "etc" / "c.txt").read_text(encoding="utf-8") == "hello from content\n"
    assert (host / "etc" / "a.conf").stat().st_mode & 0o7777 == 0o640

    again = layout_result(run_playbook(tmp_path, "--diff"))
    assert again["changed"] is False and again["changed_paths"] == [] and again["diff"] == []

    changed = layout_result(run_playbook(tmp_path, "--check", "--diff", greeting=""))
    assert changed["changed_paths"] == [files[0], files[3]]
    assert changed["diff"][0]["before"] == RENDERED.replace('s3cret\\"7q', "********")
    assert "greeting hello\n" not in changed["diff"][0]["after"]


def test_errors_name_the_item_and_hide_the_secrets(tmp_path: Path, role: Path) -> None:
    write(role / "templates" / "a.conf.j2", "{{ lookup('ansible.builtin.file', 'missing-' ~ password) }}\n")
    result = layout_result(run_playbook(tmp_path, "--check"))
    assert result["failed"] is True
    assert result["msg"].startswith(f"files[0] ({tmp_path / 'host' / 'etc' / 'a.conf'}): ")
    assert "missing-********" in result["msg"] and "7q" not in json.dumps(result)
    write(role / "templates" / "a.conf.j2", TEMPLATE)
    (role / "files" / "script.py").unlink()
    result = layout_result(run_playbook(tmp_path, "--check"))
    assert result["failed"] is True and result["msg"].startswith(f"files[1] ({tmp_path / 'host' / 'etc' / 'script.py'}): ")
    assert "script.py" in result["msg"] and not (tmp_path / "host").exists()


def test_templates_of_a_tasks_file_included_from_another_role(tmp_path: Path) -> None:
    """The role that holds the task is searched first, then the role that included it (as ansible.builtin.template)."""
    roles = tmp_path / "roles"
    write(roles / "outer" / "tasks" / "main.yml",
          "- name: Include\n  ansible.builtin.include_role:\n    name: inner\n    tasks_from: layout.yml\n")
    write(roles / "inner" / "tasks" / "layout.yml", textwrap.dedent("""\
        - name: Lay out
          shardinel.redis.host_layout:
            directories: [{path: "{{ layout_root }}"}]
            files:
              - {path: "{{ layout_root }}/both", template: both.j2}
              - {path: "{{ layout_root }}/outer", template: outer.j2}
              - {path: "{{ layout_root }}/included", template: includes_outer.j2}
        """))
    write(roles / "inner" / "templates" / "both.j2", "inner\n")
    write(roles / "outer" / "templates" / "both.j2", "outer\n")
    write(roles / "outer" / "templates" / "outer.j2", "outer\n")
    write(roles / "inner" / "templates" / "includes_outer.j2", "{% include 'outer.j2' %}\n")
    result = layout_result(run_playbook(tmp_path, "--check", "--diff", roles=("outer",)))
    after = {entry["after_header"].split(" ")[0]: entry["after"] for entry in result["diff"]}
    assert after == {str(tmp_path / "host"): "directory\n", str(tmp_path / "host" / "both"): "inner\n",
                     str(tmp_path / "host" / "outer"): "outer\n", str(tmp_path / "host" / "included"): "outer\n"}

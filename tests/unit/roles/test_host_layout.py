"""host_layout.py, the one-pass layout the redis_server and redis_sentinel roles run on each host.

Run as the roles run it (python -c, the layout on stdin), on a scratch directory as the current user; the
Sentinel query against the real Sentinels of the shared test topology.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = (Path(__file__).resolve().parents[3] / "roles" / "shardinel" / "files" / "host_layout.py").read_text(encoding="utf-8")
OWNER = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}
NOTHING = {"missing_packages": [], "changed": [], "created": [], "deferred": [], "inactive": [], "views": {}}


def run(spec: dict, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(spec), capture_output=True, text=True, env=env, check=False)


def report(spec: dict, env: dict | None = None) -> dict:
    result = run(spec, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


@pytest.fixture
def layout(tmp_path):
    validator = tmp_path / "validate.sh"
    validator.write_text("#!/bin/sh\n! grep -q bad \"$1\"\n", encoding="utf-8")
    validator.chmod(0o755)
    return {
        "directories": [dict(OWNER, path=str(tmp_path / "etc"), mode="0750"), dict(OWNER, path=str(tmp_path / "log"), mode="2750")],
        "files": [
            dict(OWNER, path=str(tmp_path / "etc" / "a.conf"), mode="0640", content="port 1\n", validate=f"{validator} %s"),
            dict(OWNER, path=str(tmp_path / "etc" / "a.main.conf"), mode="0640", content="created once\n", create_only=True),
        ],
        "links": [{"path": str(tmp_path / "wants" / "a.service"), "target": str(tmp_path / "etc" / "a.conf")}],
    }


def test_first_pass_creates_everything_and_second_changes_nothing(tmp_path, layout):
    paths = [item["path"] for kind in ("directories", "files", "links") for item in layout[kind]]
    assert report(layout) == dict(NOTHING, changed=paths, created=paths)
    assert (tmp_path / "etc" / "a.conf").read_text(encoding="utf-8") == "port 1\n"
    assert mode(tmp_path / "etc") == 0o750 and mode(tmp_path / "log") == 0o2750 and mode(tmp_path / "etc" / "a.conf") == 0o640
    assert os.readlink(tmp_path / "wants" / "a.service") == str(tmp_path / "etc" / "a.conf")
    assert report(layout) == NOTHING
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["a.conf", "a.main.conf"], "a temporary file was left behind"


def test_changed_content_replaces_the_file_after_validation(tmp_path, layout):
    report(layout)
    layout["files"][0]["content"] = "port 2\n"
    assert report(layout) == dict(NOTHING, changed=[layout["files"][0]["path"]])
    assert (tmp_path / "etc" / "a.conf").read_text(encoding="utf-8") == "port 2\n"


def test_rejected_content_leaves_the_old_file_and_names_it(tmp_path, layout):
    report(layout)
    layout["files"][0]["content"] = "bad directive\n"
    result = run(layout)
    assert result.returncode == 1
    assert f"{tmp_path / 'etc' / 'a.conf'}: the new content was rejected, the file is unchanged" in result.stderr
    assert (tmp_path / "etc" / "a.conf").read_text(encoding="utf-8") == "port 1\n"
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["a.conf", "a.main.conf"]


def test_create_only_file_is_left_to_its_service(tmp_path, layout):
    report(layout)
    (tmp_path / "etc" / "a.main.conf").write_text("rewritten by the service\n", encoding="utf-8")
    layout["files"][1]["content"] = "different now\n"
    assert report(layout) == NOTHING
    assert (tmp_path / "etc" / "a.main.conf").read_text(encoding="utf-8") == "rewritten by the service\n"


def test_create_only_file_without_content_yet_is_deferred_until_it_has_one(tmp_path, layout):
    layout["files"][1]["content"] = None
    first = report(layout)
    assert first["deferred"] == [layout["files"][1]["path"]] and layout["files"][1]["path"] not in first["changed"]
    assert not (tmp_path / "etc" / "a.main.conf").exists()
    layout["files"][1]["content"] = "now known\n"
    assert report(layout) == dict(NOTHING, changed=[layout["files"][1]["path"]], created=[layout["files"][1]["path"]])
    layout["files"][1]["content"] = None
    assert report(layout) == NOTHING


def test_attributes_and_links_are_corrected(tmp_path, layout):
    report(layout)
    (tmp_path / "etc" / "a.conf").chmod(0o644)
    (tmp_path / "log").chmod(0o755)
    link = tmp_path / "wants" / "a.service"
    link.unlink()
    link.symlink_to("/dev/null")
    assert report(layout) == dict(NOTHING, changed=[str(tmp_path / "log"), str(tmp_path / "etc" / "a.conf"), str(link)])
    assert mode(tmp_path / "etc" / "a.conf") == 0o640 and mode(tmp_path / "log") == 0o2750
    assert os.readlink(link) == str(tmp_path / "etc" / "a.conf")


def test_check_mode_reports_without_writing(tmp_path, layout):
    first = report(dict(layout, check=True))
    assert first["created"] == first["changed"] and len(first["changed"]) == 5
    assert list(tmp_path.iterdir()) == [tmp_path / "validate.sh"]


def test_unknown_owner_is_named(tmp_path, layout):
    layout["directories"][0]["owner"] = "no-such-user-7q"
    result = run(layout)
    assert result.returncode == 1 and f"{tmp_path / 'etc'}: unknown owner or group" in result.stderr


def test_check_mode_counts_an_owner_not_created_yet_as_a_change(layout):
    report(layout)
    layout["files"][0]["owner"] = "no-such-user-7q"
    assert report(dict(layout, check=True))["changed"] == [layout["files"][0]["path"]]


def test_secrets_quoted_by_a_failing_validation_are_masked(layout):
    secret = 'pa"ss\\word-bad'
    layout["files"][0]["content"] = 'masterauth "pa\\"ss\\\\word-bad"\n'
    layout["files"][0]["validate"] = "sh -c 'cat \"$1\"; exit 1' check %s"
    result = run(dict(layout, redact=[secret, ""]))
    assert result.returncode == 1
    assert 'masterauth "********"' in result.stderr and "word-bad" not in result.stderr


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="needs dpkg")
def test_missing_package_stops_before_anything_is_applied(tmp_path, layout):
    installed = subprocess.run(["dpkg-query", "--show", "--showformat=${Package}\\n", "dpkg"], capture_output=True, text=True,
                               check=True).stdout.split()
    result = report(dict(layout, packages=installed + ["shardinel-no-such-package-7q"]))
    assert result == dict(NOTHING, missing_packages=["shardinel-no-such-package-7q"])
    assert list(tmp_path.iterdir()) == [tmp_path / "validate.sh"]
    assert report(dict(layout, packages=installed))["missing_packages"] == []


def test_units_neither_running_nor_starting_are_reported(tmp_path):
    # A stand-in for systemctl (no systemd here): each unit's state is the part of its name before the first dot.
    (tmp_path / "systemctl").write_text('#!/bin/sh\nshift\nfor unit in "$@"; do echo "${unit%%.*}"; done\n', encoding="utf-8")
    (tmp_path / "systemctl").chmod(0o755)
    units = ["active.a.service", "activating.b.service", "reloading.c.service", "inactive.d.service", "failed.e.service",
             "deactivating.f.service"]
    result = report({"units": units}, env=dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}"))
    assert result["inactive"] == ["inactive.d.service", "failed.e.service", "deactivating.f.service"]


def test_sentinels_are_asked_for_their_masters(shared_topology):
    admin = shared_topology.sentinel_users["admin"]
    unreachable = "127.0.0.1:1"
    query = {"addresses": shared_topology.sentinel_addresses + [unreachable], "user": admin.username, "password": admin.password}
    views = report({"sentinels": query})["views"]
    assert sorted(views) == sorted(shared_topology.sentinel_addresses)
    for masters in views.values():
        assert sorted(master["name"] for master in masters) == sorted(shared_topology.shard_names)
        assert all({"ip", "port", "config-epoch", "quorum"} <= set(master) for master in masters)
    wrong = report({"sentinels": dict(query, password="not-the-password")})["views"]
    assert wrong == {}

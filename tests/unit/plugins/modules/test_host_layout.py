"""host_layout through its module entry point, on a scratch directory, owner and group those of the current user."""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from module_runner import ModuleResult, ModuleRunner  # pylint: disable=import-error

OWNER = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}
UNKNOWN_USER = "no-such-user-7q"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def tree(root: Path) -> list[str]:
    """Every path under root (links not followed), relative, sorted."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The directory laid out; the validator and the module's args file live beside it."""
    (tmp_path / "host").mkdir()
    return tmp_path / "host"


@pytest.fixture
def layout(tmp_path: Path, root: Path) -> dict[str, Any]:
    validator = tmp_path / "validate.sh"
    validator.write_text("#!/bin/sh\n! grep -q bad \"$1\"\n", encoding="utf-8")
    validator.chmod(0o755)
    return {
        "directories": [dict(OWNER, path=str(root / "etc"), mode="0750"), dict(OWNER, path=str(root / "log" / "redis"), mode="2750")],
        "files": [
            dict(OWNER, path=str(root / "etc" / "a.conf"), mode="0640", content="port 1\n", validate=f"{validator} %s"),
            dict(OWNER, path=str(root / "etc" / "a.main.conf"), mode="0640", content="created once\n", create_only=True),
        ],
        "links": [{"path": str(root / "wants" / "a.service"), "target": str(root / "etc" / "a.conf")}],
    }


def snapshot(path: str) -> tuple[int, ...]:
    status = os.lstat(path)
    return status.st_ino, status.st_mode, status.st_uid, status.st_gid, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def paths(layout: dict[str, Any]) -> list[str]:
    return [item["path"] for kind in ("directories", "files", "links") for item in layout[kind]]


def ok(result: ModuleResult) -> ModuleResult:
    assert result.rc == 0, result.output
    return result


def unchanged(result: ModuleResult) -> bool:
    return ok(result)["changed"] is False and result["changed_paths"] == [] and result["created"] == []


def test_first_run_creates_everything_and_the_second_changes_nothing(run_module: ModuleRunner, root: Path, layout) -> None:
    first = ok(run_module("host_layout", layout))
    assert first["changed"] is True and first["changed_paths"] == first["created"] == paths(layout)
    assert first["missing_packages"] == [] and first["inactive"] == [] and "diff" not in first
    assert (root / "etc" / "a.conf").read_text(encoding="utf-8") == "port 1\n"
    assert (root / "etc" / "a.main.conf").read_text(encoding="utf-8") == "created once\n"
    assert mode(root / "etc") == 0o750 and mode(root / "log" / "redis") == 0o2750 and mode(root / "etc" / "a.conf") == 0o640
    assert os.readlink(root / "wants" / "a.service") == str(root / "etc" / "a.conf")
    assert unchanged(run_module("host_layout", layout))
    assert unchanged(run_module("host_layout", layout, check_mode=True, diff=True))
    assert tree(root) == ["etc", "etc/a.conf", "etc/a.main.conf", "log", "log/redis", "wants", "wants/a.service"], \
        "a temporary file was left behind"


def test_check_mode_writes_nothing_and_lists_what_the_real_run_changes(run_module: ModuleRunner, root: Path, layout) -> None:
    check = ok(run_module("host_layout", layout, check_mode=True))
    assert check["changed"] is True and check["changed_paths"] == check["created"] == paths(layout)
    assert tree(root) == []
    real = ok(run_module("host_layout", layout))
    assert (real["changed_paths"], real["created"]) == (check["changed_paths"], check["created"])

    layout["files"][0]["content"] = "port 2\n"
    (root / "log" / "redis").chmod(0o755)
    os.unlink(root / "wants" / "a.service")
    os.symlink("/dev/null", root / "wants" / "a.service")
    before = {path: snapshot(path) for path in paths(layout)}
    check = ok(run_module("host_layout", layout, check_mode=True, diff=True))
    expected = [str(root / "log" / "redis"), layout["files"][0]["path"], layout["links"][0]["path"]]
    assert check["changed_paths"] == expected and check["created"] == []
    assert {path: snapshot(path) for path in paths(layout)} == before
    assert (root / "etc" / "a.conf").read_text(encoding="utf-8") == "port 1\n"
    real = ok(run_module("host_layout", layout))
    assert real["changed_paths"] == expected and real["created"] == []


def test_diff_shows_new_and_changed_content_attributes_and_links(run_module: ModuleRunner, root: Path, layout) -> None:
    owner, group = OWNER["owner"], OWNER["group"]
    fresh = ok(run_module("host_layout", layout, check_mode=True, diff=True))
    assert fresh["diff"] == [
        {"before_header": f"{root}/etc (absent)", "after_header": f"{root}/etc", "before": "",
         "after": f"directory, owner: {owner}, group: {group}, mode: 0750\n"},
        {"before_header": f"{root}/log/redis (absent)", "after_header": f"{root}/log/redis", "before": "",
         "after": f"directory, owner: {owner}, group: {group}, mode: 2750\n"},
        {"before_header": f"{root}/etc/a.conf (absent)", "after_header": f"{root}/etc/a.conf (owner: {owner}, group: {group}, mode: 0640)",
         "before": "", "after": "port 1\n"},
        {"before_header": f"{root}/etc/a.main.conf (absent)",
         "after_header": f"{root}/etc/a.main.conf (owner: {owner}, group: {group}, mode: 0640)", "before": "", "after": "created once\n"},
        {"before_header": f"{root}/wants/a.service (absent)", "after_header": f"{root}/wants/a.service", "before": "",
         "after": f"symbolic link to {root}/etc/a.conf\n"},
    ]
    ok(run_module("host_layout", layout))

    layout["files"][0]["content"] = "port 2\n"
    layout["files"][1]["content"] = "never read\n"
    (root / "etc" / "a.conf").chmod(0o600)
    (root / "etc").chmod(0o755)
    os.unlink(root / "wants" / "a.service")
    os.symlink("/dev/null", root / "wants" / "a.service")
    changed = ok(run_module("host_layout", layout, diff=True))
    assert changed["diff"] == [
        {"before_header": f"{root}/etc (attributes)", "after_header": f"{root}/etc (attributes)",
         "before": f"owner: {owner}\ngroup: {group}\nmode: 0755\n", "after": f"owner: {owner}\ngroup: {group}\nmode: 0750\n"},
        {"before_header": f"{root}/etc/a.conf", "after_header": f"{root}/etc/a.conf", "before": "port 1\n", "after": "port 2\n"},
        {"before_header": f"{root}/etc/a.conf (attributes)", "after_header": f"{root}/etc/a.conf (attributes)",
         "before": f"owner: {owner}\ngroup: {group}\nmode: 0600\n", "after": f"owner: {owner}\ngroup: {group}\nmode: 0640\n"},
        {"before_header": f"{root}/wants/a.service", "after_header": f"{root}/wants/a.service",
         "before": "symbolic link to /dev/null\n", "after": f"symbolic link to {root}/etc/a.conf\n"},
    ]
    assert "created once" not in changed.output, "the content of an existing create-only file was read"
    assert mode(root / "etc" / "a.conf") == 0o640 and mode(root / "etc") == 0o750
    assert ok(run_module("host_layout", layout, diff=True))["diff"] == []


def test_changed_content_replaces_the_file_after_validation(run_module: ModuleRunner, root: Path, layout) -> None:
    ok(run_module("host_layout", layout))
    inode = (root / "etc" / "a.conf").stat().st_ino
    layout["files"][0]["content"] = "port 2\n"
    result = ok(run_module("host_layout", layout))
    assert result["changed_paths"] == [layout["files"][0]["path"]] and result["created"] == []
    assert (root / "etc" / "a.conf").read_text(encoding="utf-8") == "port 2\n"
    assert (root / "etc" / "a.conf").stat().st_ino != inode, "not replaced by a new file"
    assert mode(root / "etc" / "a.conf") == 0o640


def test_rejected_content_leaves_the_old_file_and_names_it(run_module: ModuleRunner, root: Path, layout) -> None:
    ok(run_module("host_layout", layout))
    layout["files"][0]["content"] = "bad directive\n"
    assert ok(run_module("host_layout", layout, check_mode=True))["changed_paths"] == [layout["files"][0]["path"]], \
        "check mode runs no validator"
    result = run_module("host_layout", layout)
    assert result.rc == 1 and result["failed"] is True
    assert result["msg"].startswith(f"{root / 'etc' / 'a.conf'}: the new content was rejected, the file is unchanged")
    assert (root / "etc" / "a.conf").read_text(encoding="utf-8") == "port 1\n"
    assert tree(root / "etc") == ["a.conf", "a.main.conf"]


def test_create_only_file_is_left_to_its_service(run_module: ModuleRunner, root: Path, layout) -> None:
    ok(run_module("host_layout", layout))
    (root / "etc" / "a.main.conf").write_text("rewritten by the service\n", encoding="utf-8")
    (root / "etc" / "a.main.conf").chmod(0o600)
    layout["files"][1]["content"] = "different now\n"
    assert unchanged(run_module("host_layout", layout, diff=True))
    assert (root / "etc" / "a.main.conf").read_text(encoding="utf-8") == "rewritten by the service\n"
    assert mode(root / "etc" / "a.main.conf") == 0o600


def test_attributes_alone_are_fixed_in_place_and_links_repointed(run_module: ModuleRunner, root: Path, layout) -> None:
    ok(run_module("host_layout", layout))
    conf = root / "etc" / "a.conf"
    inode = conf.stat().st_ino
    conf.chmod(0o644)
    (root / "log" / "redis").chmod(0o755)
    link = root / "wants" / "a.service"
    link.unlink()
    link.symlink_to("/dev/null")
    result = ok(run_module("host_layout", layout))
    assert result["changed_paths"] == [str(root / "log" / "redis"), str(conf), str(link)] and result["created"] == []
    assert mode(conf) == 0o640 and conf.stat().st_ino == inode and mode(root / "log" / "redis") == 0o2750
    assert os.readlink(link) == str(conf)


def test_attributes_not_given_are_kept(run_module: ModuleRunner, root: Path, layout) -> None:
    ok(run_module("host_layout", layout))
    conf = root / "etc" / "a.conf"
    conf.chmod(0o604)
    layout["files"][0] = {"path": str(conf), "content": "port 3\n"}
    ok(run_module("host_layout", layout))
    assert conf.read_text(encoding="utf-8") == "port 3\n" and mode(conf) == 0o604
    layout["files"].append({"path": str(root / "etc" / "new.conf"), "content": "x\n"})
    ok(run_module("host_layout", layout))
    assert mode(root / "etc" / "new.conf") == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_modes_given_as_numbers_are_octal_values(run_module: ModuleRunner, root: Path, layout) -> None:
    layout["directories"][0]["mode"] = 0o700
    ok(run_module("host_layout", layout))
    assert mode(root / "etc") == 0o700
    for wrong in ("0789", "17777", 0o10000):
        layout["directories"][0]["mode"] = wrong
        result = run_module("host_layout", layout)
        assert result.rc == 1 and result["msg"] == f"{root / 'etc'}: mode {wrong} is not an octal mode such as 0640"


def test_unknown_owner_is_named_and_counts_as_a_difference_in_check_mode(run_module: ModuleRunner, root: Path, layout) -> None:
    ok(run_module("host_layout", layout))
    layout["files"][0]["owner"] = UNKNOWN_USER
    result = run_module("host_layout", layout)
    assert result.rc == 1 and result["msg"] == f"{root / 'etc' / 'a.conf'}: the user or group {UNKNOWN_USER} does not exist"
    check = ok(run_module("host_layout", layout, check_mode=True, diff=True))
    assert check["changed_paths"] == [layout["files"][0]["path"]]
    assert check["diff"][0]["after"].startswith(f"owner: {UNKNOWN_USER}\n")


def test_paths_of_the_wrong_type_are_refused_before_anything_changes(run_module: ModuleRunner, root: Path, layout) -> None:
    (root / "wants").mkdir()
    (root / "wants" / "a.service").write_text("a file\n", encoding="utf-8")
    for check_mode in (True, False):
        result = run_module("host_layout", layout, check_mode=check_mode)
        assert result.rc == 1 and result["msg"] == f"{root / 'wants' / 'a.service'} exists and is not a symbolic link"
    assert tree(root) == ["wants", "wants/a.service"], "a directory was created before the error"
    (root / "wants" / "a.service").unlink()
    (root / "etc").write_text("", encoding="utf-8")
    assert run_module("host_layout", layout)["msg"] == f"{root / 'etc'} exists and is not a directory"
    (root / "etc").unlink()
    (root / "etc" / "a.conf").mkdir(parents=True)
    assert run_module("host_layout", layout)["msg"] == f"{root / 'etc' / 'a.conf'} exists and is not a regular file"


def test_a_file_outside_the_directories_needs_an_existing_directory(run_module: ModuleRunner, root: Path, layout) -> None:
    layout["files"].append({"path": str(root / "nowhere" / "x.conf"), "content": "x\n"})
    for check_mode in (True, False):
        result = run_module("host_layout", layout, check_mode=check_mode)
        assert result.rc == 1
        assert result["msg"] == f"{root / 'nowhere' / 'x.conf'}: its directory does not exist and is not among the directories"
    layout["files"][-1]["path"] = str(root / "log" / "x.conf")
    assert ok(run_module("host_layout", layout, check_mode=True))["created"][-2] == str(root / "log" / "x.conf"), \
        "a parent made for a directory counts"


def test_template_and_src_items_need_the_action_plugin(run_module: ModuleRunner, root: Path, layout) -> None:
    layout["files"][0] = {"path": str(root / "etc" / "a.conf"), "template": "a.conf.j2"}
    result = run_module("host_layout", layout)
    assert result.rc == 1 and "the shardinel.redis.host_layout action renders template and src items" in result["msg"]
    layout["files"][0]["content"] = "x"
    assert "mutually exclusive" in run_module("host_layout", layout)["msg"]


SECRET = 'pa"ss\\word-7q'
SECRET_HASH = "#" + hashlib.sha256(b"another-7q").hexdigest()


def test_secrets_are_hidden_in_diffs(run_module: ModuleRunner, root: Path, layout) -> None:
    quoted = SECRET.replace("\\", "\\\\").replace('"', '\\"')
    layout["files"][0]["content"] = f'masterauth "{quoted}"\nport 1\n'
    layout["files"].append(dict(OWNER, path=str(root / "etc" / "a.acl"), content=f"user app on {SECRET_HASH} ~*\n"))
    layout["files"].append(dict(OWNER, path=str(root / "etc" / "start.json"), content=json.dumps({"password": SECRET + "é"}) + "\n"))
    layout["files"].append(dict(OWNER, path=str(root / "etc" / "host.key"), content="PRIVATE KEY 7q\n", diff=False))
    layout["secrets"] = [SECRET, SECRET + "é", SECRET_HASH, ""]
    first = ok(run_module("host_layout", layout, diff=True))
    after = {entry["after_header"].split(" ")[0]: entry["after"] for entry in first["diff"]}
    assert after[f"{root}/etc/a.conf"] == 'masterauth "********"\nport 1\n'
    assert after[f"{root}/etc/a.acl"] == "user app on ******** ~*\n"
    assert after[f"{root}/etc/start.json"] == '{"password": "********"}\n'
    assert after[f"{root}/etc/host.key"] == "(new content, not shown)\n"
    for text in ("word-7q", "another", SECRET_HASH[1:], "PRIVATE KEY"):
        assert text not in first.output
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" not in json.dumps(first["diff"])
    assert first["invocation"]["module_args"]["secrets"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

    rotated = "new-pass-7q"
    layout["files"][0]["content"] = f'masterauth "{rotated}"\nport 1\n'
    layout["files"][-1]["content"] = "PRIVATE KEY 7q, renewed\n"
    layout["secrets"].append(rotated)
    second = ok(run_module("host_layout", layout, diff=True))
    assert second["diff"][0] == {"before_header": f"{root}/etc/a.conf",
                                 "after_header": f"{root}/etc/a.conf (only hidden secrets differ)",
                                 "before": 'masterauth "********"\nport 1\n', "after": 'masterauth "********"\nport 1\n'}
    assert second["diff"][1] == {"before_header": f"{root}/etc/host.key", "after_header": f"{root}/etc/host.key",
                                 "before": "(content not shown)\n", "after": "(new content, not shown)\n"}
    assert rotated not in second.output and "PRIVATE KEY" not in second.output


def test_secrets_quoted_by_a_failing_validation_are_hidden(run_module: ModuleRunner, layout) -> None:
    quoted = SECRET.replace("\\", "\\\\").replace('"', '\\"')
    layout["files"][0]["content"] = f'masterauth "{quoted}"\n'
    layout["files"][0]["validate"] = "sh -c 'cat \"$1\"; exit 1' check %s"
    result = run_module("host_layout", dict(layout, secrets=[SECRET, ""]))
    assert result.rc == 1
    assert 'masterauth "********"' in result["msg"] and "word-7q" not in result.output


def test_a_secret_inside_a_reported_path_is_refused(run_module: ModuleRunner, root: Path, layout) -> None:
    result = run_module("host_layout", dict(layout, secrets=["x", "a.main"]))
    assert result.rc == 1
    assert result["msg"].startswith("secrets: entry 2 is part of a path or name that the result reports")
    assert tree(root) == []


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="needs dpkg")
def test_missing_packages_stop_a_real_run_and_show_in_check_mode(run_module: ModuleRunner, root: Path, layout) -> None:
    missing = "shardinel-no-such-package-7q"
    layout["packages"] = ["dpkg", missing]
    real = ok(run_module("host_layout", layout, diff=True))
    assert real["changed"] is False and real["missing_packages"] == [missing]
    assert real["changed_paths"] == [] and real["diff"] == [] and tree(root) == []
    layout["files"][0]["owner"] = UNKNOWN_USER
    check = ok(run_module("host_layout", layout, check_mode=True, diff=True))
    assert check["changed"] is True and check["missing_packages"] == [missing] and check["changed_paths"] == paths(layout)
    assert check["diff"][0] == {"before_header": "packages", "after_header": "packages (to be installed)", "before": "",
                                "after": f"{missing}\n"}
    assert check["diff"][3]["after"] == "port 1\n"
    assert tree(root) == []
    layout["packages"] = ["dpkg"]
    layout["files"][0]["owner"] = OWNER["owner"]
    assert ok(run_module("host_layout", layout))["created"] == paths(layout)


def test_units_neither_running_nor_starting_are_reported(run_module: ModuleRunner, tmp_path: Path, monkeypatch) -> None:
    # A stand-in for systemctl: each unit's state is the part of its name before the first dot.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text('#!/bin/sh\nshift\nfor unit in "$@"; do echo "${unit%%.*}"; done\n', encoding="utf-8")
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    units = ["active.a.service", "activating.b.service", "reloading.c.service", "inactive.d.service", "failed.e.service",
             "deactivating.f.service"]
    result = ok(run_module("host_layout", {"units": units}, check_mode=True))
    assert result["inactive"] == ["inactive.d.service", "failed.e.service", "deactivating.f.service"]
    assert result["changed"] is False


def systemd_answers() -> bool:
    return shutil.which("systemctl") is not None and subprocess.run(
        ["systemctl", "is-active", "no-such-unit-7q.service"], capture_output=True, text=True, check=False).stdout.strip() == "inactive"


@pytest.mark.skipif(not systemd_answers(), reason="needs a running systemd")
def test_a_unit_that_does_not_exist_is_inactive(run_module: ModuleRunner) -> None:
    assert ok(run_module("host_layout", {"units": ["no-such-unit-7q.service"]}))["inactive"] == ["no-such-unit-7q.service"]


@pytest.mark.skipif(systemd_answers() or not shutil.which("systemctl"), reason="needs systemctl without a running systemd")
def test_units_fail_with_systemctl_error_when_systemd_does_not_answer(run_module: ModuleRunner) -> None:
    result = run_module("host_layout", {"units": ["no-such-unit-7q.service"]})
    assert result.rc == 1 and result["msg"].startswith("units: systemctl is-active: ")


def test_probes_report_paths_in_the_same_call_and_change_nothing(run_module: ModuleRunner, root: Path, layout) -> None:
    read_only = root.parent / "read-only"
    read_only.write_text("1\n", encoding="utf-8")
    read_only.chmod(0o444)
    missing = root.parent / "no-such-timer"
    layout["probes"] = [str(read_only), str(missing), str(root.parent)]
    check = ok(run_module("host_layout", layout, check_mode=True))
    expected = {str(read_only): {"exists": True, "writeable": os.getuid() == 0},
                str(missing): {"exists": False, "writeable": False},
                str(root.parent): {"exists": True, "writeable": True}}
    assert check["probed"] == expected
    assert tree(root) == [] and read_only.read_text(encoding="utf-8") == "1\n"
    assert ok(run_module("host_layout", layout))["probed"] == expected
    layout["probes"] = []
    assert ok(run_module("host_layout", layout))["probed"] == {}

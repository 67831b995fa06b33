"""The controller's backup decisions (plugins/plugin_utils/backup_plan.py): the backup timer's files, the host program
they make up run with the system's python3 (no redis-py) against real processes, which host restores which shard, and
the playbooks' tables."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

from ansible_collections.shardinel.redis.plugins.plugin_utils import backup_plan, redis_server_plan

REPO = Path(__file__).resolve().parents[4]
MODULE_UTILS = REPO / "plugins" / "module_utils"
PREFIX = "ansible_collections.shardinel.redis.plugins.module_utils."


def timer_settings(root: str = "", **options: object) -> dict:
    return {
        "command": f"{root}/usr/local/libexec/shardinel/redis-backup", "program": str(REPO / "roles/redis_server/files/redis_backup.py"),
        "library": f"{root}/usr/local/libexec/shardinel/lib", "module_utils": str(MODULE_UTILS),
        "settings_file": f"{root}/etc/redis/shardinel/backup.json", "settings": dict({"directory": f"{root}/backups"}, **options),
        "directory": f"{root}/backups", "metrics_dir": f"{root}/textfile", "service": "/etc/systemd/system/b.service",
        "timer": "/etc/systemd/system/shardinel-redis-backup.timer"}


def test_the_timer_adds_its_files_only_when_on() -> None:
    base = {"instances": [], "config_dir": "/c", "data_dir": "/d", "log_dir": "/l", "user": "redis", "group": "redis",
            "libexec_dir": "/x", "check_command": "/x/check", "start_role_command": "/x/start", "start_role_settings": "/c/s.json",
            "start_role": {}, "helper_sources": {"redis-start-role": "/s.py"}, "unit": "/u", "target": "/t",
            "distribution_units": [], "tls_dir": "/tls", "tls_files": [], "tls_pending": False}
    off = redis_server_plan.layout_items(dict(base, backup={}))
    assert off == redis_server_plan.layout_items(base)
    on = redis_server_plan.layout_items(dict(base, backup=timer_settings(password="secret")))
    added = {item["path"]: item for item in on["files"] if item not in off["files"]}
    assert added["/etc/redis/shardinel/backup.json"]["mode"] == "0600"
    assert json.loads(added["/etc/redis/shardinel/backup.json"]["content"])["password"] == "secret"
    assert added["/etc/systemd/system/shardinel-redis-backup.timer"]["template"] == "shardinel-redis-backup.timer.j2"
    library = "/usr/local/libexec/shardinel/lib/ansible_collections/shardinel/redis/plugins/module_utils"
    assert added[f"{library}/redis_wire.py"]["src"] == str(MODULE_UTILS / "redis_wire.py")
    assert added[f"{library}/shardinel/__init__.py"]["content"].startswith('"""')
    assert added["/usr/local/libexec/shardinel/lib/ansible_collections/__init__.py"]["content"] == ""
    assert {"path": "/etc/systemd/system/timers.target.wants/shardinel-redis-backup.timer",
            "target": "/etc/systemd/system/shardinel-redis-backup.timer"} in on["links"]
    modes = {item["path"]: item["mode"] for item in on["directories"]}
    assert modes["/backups"] == "0700" and modes["/textfile"] == "0755"


def imported_module_utils(name: str) -> set[str]:
    """The collection module_utils a module_utils file imports (paths relative to module_utils)."""
    found = set()
    for node in ast.walk(ast.parse((MODULE_UTILS / name).read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.module and node.module.startswith(PREFIX):
                found.add(node.module[len(PREFIX):].replace(".", "/") + ".py")
            elif node.level and node.module:
                found.add(str(Path(name).parent / (node.module.replace(".", "/") + ".py")))
    return found


def test_the_library_holds_everything_the_backup_program_imports() -> None:
    needed, queue = set(), ["backup_run.py"]
    while queue:
        name = queue.pop()
        if name in needed:
            continue
        needed.add(name)
        queue.extend(imported_module_utils(name))
    assert sorted(needed) == sorted(backup_plan.BACKUP_LIBRARY)


def install(items: dict, root: Path) -> None:
    """What host_layout would write, under ``root`` (the paths given already start with it)."""
    for directory in items["directories"]:
        Path(directory["path"]).mkdir(parents=True, exist_ok=True)
    for item in items["files"]:
        path = Path(item["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        if "src" in item:
            shutil.copyfile(item["src"], path)
        elif "content" in item:
            path.write_text(item["content"])


def test_the_installed_program_backs_up_with_the_system_python(shared_topology, tmp_path: Path) -> None:
    topology = shared_topology
    root = str(tmp_path)
    options = {"sentinels": topology.sentinel_addresses, "sentinel_username": topology.sentinel_users["client"].username,
               "sentinel_password": topology.sentinel_users["client"].password, "username": "admin",
               "password": topology.users["admin"].password, "host": "127.0.0.1", "backup_set": "timer", "keep": 3,
               "metrics_file": f"{root}/textfile/backup.prom", "directory": f"{root}/backups"}
    settings = timer_settings(root, **options)
    items = backup_plan.backup_items(settings)
    install(dict(items, files=[item for item in items["files"] if "template" not in item]), tmp_path)
    command = ["/usr/bin/python3", settings["command"], settings["settings_file"]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["shards"]) == topology.shard_names
    assert sorted(path.name for path in (tmp_path / "backups" / "timer").iterdir()) == sorted(
        ["set.json"] + [f"{name}.{suffix}" for name in topology.shard_names for suffix in ("json", "rdb")])
    assert 'shardinel_backup_last_run_success{shard="shard1"} 1' in (tmp_path / "textfile" / "backup.prom").read_text()
    assert not any(secret in done.stdout + done.stderr for secret in (options["password"], options["sentinel_password"]))
    again = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 1 and "backup_set: a set named timer exists" in again.stderr
    Path(settings["settings_file"]).write_text(json.dumps(dict(options, colour="blue")))
    wrong = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert wrong.returncode == 1 and "unknown settings colour" in wrong.stderr


def test_each_shard_is_restored_from_one_host_and_every_refusal_stops_the_run() -> None:
    plans = {
        "s1": {"backup_set": "n2", "shards": {"shard1": {"backed_up": "2026-12-05T03:00:01Z", "master": "a:1"}}, "skipped": {}},
        "s2": {"backup_set": "n1", "shards": {"shard1": {"backed_up": "2026-12-04T03:00:00Z"},
                                              "shard2": {"backed_up": "2026-12-04T03:00:00Z", "master": "b:1"}}},
        "s3": {"set_missing": "backup_set: no complete set in /b (sets there: none)", "shards": {}, "skipped": {}},
    }
    decision = backup_plan.restore_assignment(plans, ["shard1", "shard2"], ["s1", "s2", "s3"])
    assert decision == {"assignments": {"s1": {"set": "n2", "shards": ["shard1"]}, "s2": {"set": "n1", "shards": ["shard2"]}},
                        "problems": []}
    missing = backup_plan.restore_assignment(plans, ["shard1", "shard3"], ["s1", "s2", "s3"])
    assert missing["problems"] == ["shard3: no data host holds it in the backup set (s1: its part of the set does not hold it; "
                                   "s2: its part of the set does not hold it; s3: backup_set: no complete set in /b (sets there: none))"]
    refused = dict(plans, s2={"failed": True, "msg": "shard2: /b/n1/shard2.rdb is corrupt: its SHA-256 differs"})
    assert backup_plan.restore_assignment(refused, ["shard1"], ["s1", "s2", "s3"])["problems"] == [
        "s2: shard2: /b/n1/shard2.rdb is corrupt: its SHA-256 differs"]
    rows = backup_plan.restore_rows(plans, decision["assignments"])
    assert rows[0] == backup_plan.RESTORE_CHECK_HEADER and [row[:3] for row in rows[1:]] == [
        ["shard1", "s1", "n2"], ["shard2", "s2", "n1"]]


def test_the_backup_table() -> None:
    results = {"s1": {"shards": {"shard2": {"source": {"address": "a:2", "role": "replica"}, "keys": 10, "size": 2097152,
                                            "seconds": 0.5}}, "failed_shards": {"shard1": "no replica in sync"}}}
    assert backup_plan.backup_rows(results) == [backup_plan.BACKUP_HEADER, ["shard1", "s1", "FAILED", "no replica in sync"],
                                                ["shard2", "s1", "a:2", "replica", 10, 2.0, 0.5]]
    planned = {"s1": {"shards": {"shard2": {"source": "a:2", "role": "replica", "master": "b:2", "problems": []}}}}
    assert backup_plan.backup_rows(planned) == [backup_plan.BACKUP_CHECK_HEADER, ["shard2", "s1", "a:2", "replica", "b:2", ""]]

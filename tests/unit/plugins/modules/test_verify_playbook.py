"""playbooks/verify.yml (shardinel.redis.verify) against a real topology, with the topology facts given as extra vars.

The first play (the shardinel role computing the facts from the inventory) needs deployed hosts;
--start-at-task skips it and the facts it would set are passed in instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from module_runner import COLLECTIONS, all_secrets  # pylint: disable=import-error

FIRST_VERIFY_TASK = "Install redis-py where the modules run"


def run_verify(topology: Any, tmp_path: Path, **extra_vars: Any) -> subprocess.CompletedProcess[str]:
    hosts = {s.address_string: "server1" for s in topology.sentinels}
    for index, shard in enumerate(topology.shards):
        hosts[shard.master.address_string] = f"server{index % 2 + 1}"
        hosts[shard.replica.address_string] = f"server{(index + 1) % 2 + 1}"
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {
        "children": {group: {"hosts": {"server1": {}, "server2": {}}} for group in ("redis_servers", "redis_sentinels")},
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
    }}))
    facts = {
        "shardinel_sentinel_addresses": topology.sentinel_addresses,
        "shardinel_address_hosts": hosts,
        "shardinel_layout": [{"name": shard.name} for shard in topology.shards],
        "shardinel_sentinel_client_username": topology.sentinel_users["client"].username,
        "shardinel_sentinel_client_password": topology.sentinel_users["client"].password,
        "shardinel_sentinel_admin_username": topology.sentinel_users["admin"].username,
        "shardinel_sentinel_admin_password": topology.sentinel_users["admin"].password,
        "shardinel_admin_username": topology.users["admin"].username,
        "shardinel_admin_password": topology.users["admin"].password,
        "shardinel_verify_install_redis_py": False,
    }
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(facts | extra_vars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_LOCALHOST_WARNING="0")
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra}",
         "--start-at-task", FIRST_VERIFY_TASK, "shardinel.redis.verify"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )


def report_lines(stdout: str) -> list[str]:
    start = stdout.index("TASK [Print the report]")
    body = stdout[stdout.index("{", start):stdout.index("\nTASK [", start)]
    return list(json.loads(body)["msg"])


def test_verify_playbook_drills_the_selected_shard_and_prints_the_report(fresh_topology: Any, tmp_path: Path) -> None:
    """Without restore (the module tests cover restore=true): the promoted replica stays master."""
    shard1, shard2 = fresh_topology.shard("shard1"), fresh_topology.shard("shard2")
    completed = run_verify(fresh_topology, tmp_path, shardinel_verify_shards=["shard2"], shardinel_verify_timeout=40,
                           shardinel_verify_restore=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    lines = report_lines(completed.stdout)
    assert lines[0].split(" | ")[0].strip() == "shard" and set(lines[1]) == {"-"}
    row = dict(zip(["shard", "old", "new", "failover", "gap", "canaries", "lost", "routing", "restored"],
                   [cell.strip() for cell in lines[3].split(" | ")]))
    assert row["shard"] == "shard2"
    assert row["old"] == f"{shard2.master.address_string} server2"
    assert row["new"] == f"{shard2.replica.address_string} server1"
    assert row["failover"].endswith(" ms") and row["gap"].endswith(" ms")
    assert (row["canaries"], row["lost"], row["routing"], row["restored"]) == ("10", "0", "ok", "n/a")
    assert lines[2].split(" | ")[0].strip() == "shard1" and lines[2].split(" | ")[2].strip() == "-"
    assert lines[4].startswith("  shard2 writer: ") and lines[4].endswith(" lost (not confirmed with WAIT)")
    assert "Losing host server1: NOT survivable (shard1: 0 of 3 Sentinels left" in "\n".join(lines)
    assert "Losing host server2: survivable" in lines and lines[-1] == "Drill: passed"
    assert fresh_topology.wait_for_master_agreement("shard2") == shard2.replica.address
    assert fresh_topology.role_of(shard2.master.address) == "slave"
    assert fresh_topology.wait_for_master_agreement("shard1") == shard1.master.address
    assert not any(secret in output for secret in all_secrets(fresh_topology))


def test_verify_playbook_stops_when_an_assertion_fails(shared_topology: Any, tmp_path: Path) -> None:
    """A layout naming a shard the Sentinels do not monitor fails the assertions before any failover."""
    layout = [{"name": shard.name} for shard in shared_topology.shards] + [{"name": "shard9"}]
    completed = run_verify(shared_topology, tmp_path, shardinel_layout=layout)
    assert completed.returncode == 2
    assert "shard shard9 is not healthy: not monitored by any Sentinel" in completed.stdout
    assert "Fail every shard over" not in completed.stdout
    assert not any(secret in completed.stdout + completed.stderr for secret in all_secrets(shared_topology))

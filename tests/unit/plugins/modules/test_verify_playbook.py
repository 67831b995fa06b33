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
from supervisor import Supervisor  # pylint: disable=import-error

FIRST_VERIFY_TASK = "The drill is planned, kill or freeze"
COLUMNS = ["shard", "drill", "old", "new", "failover", "gap", "acked", "lost", "canaries", "canaries lost", "routing", "restored"]


def run_verify(topology: Any, tmp_path: Path, *arguments: str, **extra_vars: Any) -> subprocess.CompletedProcess[str]:
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
        "shardinel_redis_py_package": "",
    }
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(facts | extra_vars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_LOCALHOST_WARNING="0")
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra}",
         "--start-at-task", FIRST_VERIFY_TASK, *arguments, "shardinel.redis.verify"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )


def report_lines(stdout: str) -> list[str]:
    start = stdout.index("TASK [Print the report]")
    body = stdout[stdout.index("{", start):stdout.index("\nTASK [", start)]
    return list(json.loads(body)["msg"])


def report_rows(lines: list[str]) -> dict[str, dict[str, str]]:
    table = [dict(zip(COLUMNS, [cell.strip() for cell in line.split(" | ")])) for line in lines if " | " in line]
    assert table[0]["shard"] == "shard" and set(lines[1]) == {"-"}
    return {row["shard"]: row for row in table[1:]}


def test_verify_playbook_drills_the_selected_shard_and_prints_the_report(fresh_topology: Any, tmp_path: Path) -> None:
    """Without restore (the module tests cover restore=true): the promoted replica stays master."""
    shard1, shard2 = fresh_topology.shard("shard1"), fresh_topology.shard("shard2")
    completed = run_verify(fresh_topology, tmp_path, shardinel_verify_shards=["shard2"], shardinel_verify_timeout=40,
                           shardinel_verify_restore=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    lines = report_lines(completed.stdout)
    rows = report_rows(lines)
    row = rows["shard2"]
    assert row["drill"] == "planned"
    assert row["old"] == f"{shard2.master.address_string} server2"
    assert row["new"] == f"{shard2.replica.address_string} server1"
    assert row["failover"].endswith(" ms") and row["gap"].endswith(" ms")
    assert int(row["acked"]) > 0 and row["lost"].isdigit()
    assert (row["canaries"], row["canaries lost"], row["routing"], row["restored"]) == ("10", "0", "ok", "n/a")
    assert rows["shard1"]["drill"] == "-" and rows["shard1"]["old"] == f"{shard1.master.address_string} server1"
    assert rows["shard1"]["new"] == "-"
    assert "Sentinels: 3 of 3 reachable, 0 in TILT mode" in lines
    assert "Losing host server1: NOT survivable (shard1: 0 of 3 Sentinels left" in "\n".join(lines)
    assert "Losing host server2: survivable" in lines and lines[-1] == "Drill: passed"
    assert fresh_topology.wait_for_master_agreement("shard2") == shard2.replica.address
    assert fresh_topology.role_of(shard2.master.address) == "slave"
    assert fresh_topology.wait_for_master_agreement("shard1") == shard1.master.address
    assert not any(secret in output for secret in all_secrets(fresh_topology))


def test_verify_playbook_in_check_mode_reads_and_plans_without_a_failover(shared_topology: Any, tmp_path: Path) -> None:
    before = {shard.name: shared_topology.wait_for_master_agreement(shard.name) for shard in shared_topology.shards}
    completed = run_verify(shared_topology, tmp_path, "--check", "--diff")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "TASK [Print the report]" in completed.stdout
    assert {shard.name: shared_topology.wait_for_master_agreement(shard.name) for shard in shared_topology.shards} == before
    assert not any(secret in output for secret in all_secrets(shared_topology))


def test_verify_playbook_stops_when_an_assertion_fails(shared_topology: Any, tmp_path: Path) -> None:
    """A layout naming a shard the Sentinels do not monitor fails the assertions before any failover."""
    layout = [{"name": shard.name} for shard in shared_topology.shards] + [{"name": "shard9"}]
    completed = run_verify(shared_topology, tmp_path, shardinel_layout=layout)
    assert completed.returncode == 2
    assert "shard shard9 is not healthy: not monitored by any Sentinel" in completed.stdout
    assert "Fail every shard over" not in completed.stdout
    assert not any(secret in completed.stdout + completed.stderr for secret in all_secrets(shared_topology))


def test_verify_playbook_kill_drill_runs_on_the_masters_host_and_restores(fresh_topology: Any, tmp_path: Path) -> None:
    """drill=kill: the module runs delegated to the master's host (server2, local here), kills the master, and a
    stand-in for systemd's Restart=always starts it again; restore puts the layout back."""
    shard2 = fresh_topology.shard("shard2")
    with Supervisor(fresh_topology, [shard2.master], restart_delay=4.0) as supervisor:
        completed = run_verify(fresh_topology, tmp_path, shardinel_verify_shards=["shard2"], shardinel_verify_timeout=60,
                               shardinel_verify_drill="kill")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert supervisor.restarts == ["shard2-master"] and not supervisor.errors
    drill_task = completed.stdout[completed.stdout.index("TASK [Fail every shard over"):completed.stdout.index("TASK [Print the report]")]
    assert "[server1 -> server2]" in drill_task, drill_task
    rows = report_rows(report_lines(completed.stdout))
    row = rows["shard2"]
    assert row["drill"] == "kill"
    assert row["old"] == f"{shard2.master.address_string} server2" and row["new"] == f"{shard2.replica.address_string} server1"
    assert (row["canaries lost"], row["routing"], row["restored"]) == ("0", "ok", "yes")
    assert row["lost"].isdigit()
    assert fresh_topology.wait_for_master_agreement("shard2") == shard2.master.address
    assert not any(secret in output for secret in all_secrets(fresh_topology))


def test_verify_playbook_refuses_an_unknown_drill_before_anything(shared_topology: Any, tmp_path: Path) -> None:
    completed = run_verify(shared_topology, tmp_path, shardinel_verify_drill="explode")
    assert completed.returncode == 2
    assert "shardinel_verify_drill must be planned, kill or freeze, got explode" in completed.stdout
    assert "Read the topology" not in completed.stdout

"""failover_verify's kill and freeze drills and its readiness checks (replica lag, TILT, Sentinel's failover delay),
through the module entry point against real redis-server and redis-sentinel processes.

Nobody restarts a killed test process on its own, so kill drills run under ``Supervisor``, which does what
the redis_server role's systemd units do (Restart=always after RestartSec).
"""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import pytest

from module_runner import ModuleRunner, all_secrets, connection_args, drill_args, sentinel_state  # pylint: disable=import-error
from supervisor import Supervisor  # pylint: disable=import-error

# Longer than down-after-milliseconds (1 s in tests) plus the election, as redis_server_restart_delay must be.
RESTART_DELAY = 4.0


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        return next(line.split()[1] for line in status if line.startswith("State:"))


def sentinel_set(topology: Any, name: str, option: str, value: int) -> None:
    for sentinel in topology.sentinels:
        client = topology.sentinel_client(sentinel)
        try:
            client.execute_command("SENTINEL", "SET", name, option, value)
        finally:
            client.close()


def ms_since_switch(topology: Any, name: str) -> int:
    """The largest role-reported-time of the shard's master entry: ms since the Sentinels switched it."""
    ages = []
    for sentinel in topology.sentinels:
        client = topology.sentinel_client(sentinel)
        try:
            ages.append(int(client.sentinel_master(name)["role-reported-time"]))
        finally:
            client.close()
    return max(ages)


def freeze_into_tilt(topology: Any, sentinel: Any, tilt_period_ms: int) -> None:
    """A Sentinel stalled for longer than its tilt-trigger (2 s) enters TILT mode when it resumes."""
    client = topology.sentinel_client(sentinel)
    try:
        client.execute_command("SENTINEL", "DEBUG", "TILT-PERIOD", tilt_period_ms)
        sentinel.kill(signal.SIGSTOP)
        time.sleep(2.5)
        sentinel.kill(signal.SIGCONT)
        deadline = time.monotonic() + 10
        while str(client.info("sentinel").get("sentinel_tilt")) != "1":
            assert time.monotonic() < deadline, "the Sentinel did not enter TILT mode"
            time.sleep(0.1)
    finally:
        client.close()


def test_kill_drill_waits_for_the_failover_delay_then_kills_and_restores(fresh_topology: Any, run_module: ModuleRunner) -> None:
    """A kill right after a failover waits until 2 x failover-timeout after it, or fails at once when that is too far."""
    shard = fresh_topology.shard("shard1")
    old = fresh_topology.force_failover("shard1")
    fresh_topology.settle_after_failover("shard1", old)
    start_master = fresh_topology.process_at(fresh_topology.wait_for_master_agreement("shard1"))
    # make Sentinel's window end about 12 s from now, whatever the settling took
    sentinel_set(fresh_topology, "shard1", "failover-timeout", (ms_since_switch(fresh_topology, "shard1") + 12000) // 2)
    before = sentinel_state(fresh_topology)

    too_short = run_module("failover_verify", drill_args(fresh_topology, shards=["shard1"], drill="kill", timeout=3.0))
    assert too_short.rc == 1 and too_short["changed"] is False, too_short.output
    report = too_short["shards"]["shard1"]
    assert report["failed_over"] is False and report["fault"] is None
    assert "Sentinel does not start another failover of shard1 before about " in report["error"]
    assert report["error"].endswith("beyond the timeout of 3s, nothing was changed")
    assert start_master.running and sentinel_state(fresh_topology) == before

    with Supervisor(fresh_topology, [start_master], restart_delay=RESTART_DELAY) as supervisor:
        result = run_module("failover_verify", drill_args(fresh_topology, shards=["shard1"], drill="kill", restore=True,
                                                          timeout=60.0))
    assert result.rc == 0, result.output
    assert supervisor.restarts == [start_master.name] and not supervisor.errors
    report = result["shards"]["shard1"]
    assert report["drill"] == "kill" and report["error"] is None
    assert report["ready_wait_ms"] > 0
    assert [text.split(" before about ")[0] for text in report["ready_waited_for"]] == [
        "Sentinel does not start another failover of shard1"]
    assert report["fault"].startswith("SIGKILL to redis-server process ")
    other = shard.master if start_master is shard.replica else shard.replica
    assert report["old_master"] == start_master.address_string and report["new_master"] == other.address_string
    assert report["old_master_role"] == f"replica of {other.address_string} (connected)"
    assert report["failover_ms"] > 0 and report["rejoin_ms"] >= report["failover_ms"]
    assert report["canaries_written"] == 10 and report["canaries_lost"] == 0 and report["routing_verified"] is True
    assert report["writes_acknowledged"] > 0 and isinstance(report["writes_lost"], int)
    assert report["restored"] is True
    assert fresh_topology.wait_for_master_agreement("shard1") == start_master.address
    assert not any(secret in result.output for secret in all_secrets(fresh_topology))


def test_a_master_restarted_before_the_failover_fails_the_drill(fresh_topology: Any, run_module: ModuleRunner) -> None:
    """A service manager that restarts the killed master before Sentinel notices it defeats the drill: said at once."""
    shard = fresh_topology.shard("shard2")
    with Supervisor(fresh_topology, [shard.master], restart_delay=0.0) as supervisor:
        result = run_module("failover_verify", drill_args(fresh_topology, shards=["shard2"], drill="kill"))
    assert supervisor.restarts == ["shard2-master"]
    assert result.rc == 1 and result["changed"] is True
    assert result["shards"]["shard2"]["error"].startswith(
        f"master {shard.master.address_string} was started again before the Sentinels failed it over: ")
    assert "raise redis_server_restart_delay" in result["msg"]


def test_freeze_drill_resumes_the_master_which_rejoins_as_a_replica(fresh_topology: Any, run_module: ModuleRunner) -> None:
    shard = fresh_topology.shard("shard2")
    result = run_module("failover_verify", drill_args(fresh_topology, shards=["shard2"], drill="freeze"))
    assert result.rc == 0, result.output
    report = result["shards"]["shard2"]
    assert report["fault"] == f"SIGSTOP to redis-server process {shard.master.popen.pid}"
    assert report["new_master"] == shard.replica.address_string
    assert report["old_master_role"] == f"replica of {shard.replica.address_string} (connected)"
    assert report["canaries_lost"] == 0 and report["routing_verified"] is True and report["restored"] is None
    assert isinstance(report["write_gap_ms"], int) and isinstance(report["writes_lost"], int)
    assert process_state(shard.master.popen.pid) != "T"
    assert fresh_topology.role_of(shard.master.address) == "slave"


def test_a_replica_behind_its_master_is_refused_before_any_change(fresh_topology: Any, run_module: ModuleRunner) -> None:
    shard = fresh_topology.shard("shard1")
    before = sentinel_state(fresh_topology)
    shard.replica.kill(signal.SIGSTOP)
    try:
        master = fresh_topology.redis_client(shard.master.address)
        try:
            master.set("lag-test", "x" * 20000)
        finally:
            master.close()
        result = run_module("failover_verify", drill_args(fresh_topology, drill="kill", max_replica_lag_bytes=1000))
    finally:
        shard.replica.kill(signal.SIGCONT)
    assert result.rc == 1 and result["changed"] is False and result["shards"] == {}
    prefix = (f"shard shard1 is not ready for a drill: master {shard.master.address_string}: "
              f"replica {shard.replica.address_string} is connected but ")
    assert result["msg"].startswith(prefix), result["msg"]
    behind = int(result["msg"][len(prefix):].split()[0])
    assert behind > 20000
    assert result["msg"].endswith(" bytes behind the master (max_replica_lag_bytes 1000); a failover now would lose writes")
    assert shard.master.running and sentinel_state(fresh_topology) == before


def test_tilt_is_reported_and_drills_wait_for_it(fresh_topology: Any, run_module: ModuleRunner) -> None:
    tilted = fresh_topology.sentinels[2]
    freeze_into_tilt(fresh_topology, tilted, 12000)

    info = run_module("topology_info", connection_args(fresh_topology) | {
        "sentinel_admin_username": fresh_topology.sentinel_users["admin"].username,
        "sentinel_admin_password": fresh_topology.sentinel_users["admin"].password})
    assert info.rc == 0, info.output
    states = {s["address"]: s for s in info["sentinels"]}
    assert states[tilted.address_string]["tilt"] is True and states[tilted.address_string]["tilt_error"] is None
    assert 0 <= states[tilted.address_string]["tilt_since_seconds"] <= 12
    assert 0 <= states[tilted.address_string]["tilt_remaining_seconds"] <= 12
    assert [s["tilt"] for s in info["sentinels"] if s["address"] != tilted.address_string] == [False, False]
    analysis = info["survivability"]
    assert analysis["sentinels_in_tilt"] == [tilted.address_string]
    assert analysis["problems_now"] == []

    without_admin = run_module("topology_info", connection_args(fresh_topology))
    assert without_admin.rc == 0, without_admin.output
    assert all(s["tilt"] is None for s in without_admin["sentinels"])
    assert "user 'sentinel-client' may not run INFO" in without_admin["sentinels"][0]["tilt_error"]

    before = sentinel_state(fresh_topology)
    refused = run_module("failover_verify", drill_args(fresh_topology, shards=["shard1"], timeout=1.0))
    assert refused.rc == 1 and refused["changed"] is False, refused.output
    error = refused["shards"]["shard1"]["error"]
    assert error.startswith(f"Sentinel {tilted.address_string} is in TILT mode for "), error
    assert " until about " in error and error.endswith("beyond the timeout of 1s, nothing was changed")
    assert sentinel_state(fresh_topology) == before

    waited = run_module("failover_verify", drill_args(fresh_topology, shards=["shard1"], restore=True, timeout=40.0))
    assert waited.rc == 0, waited.output
    report = waited["shards"]["shard1"]
    assert report["ready_wait_ms"] > 0 and report["restored"] is True
    assert report["ready_waited_for"][0].startswith(f"Sentinel {tilted.address_string} is in TILT mode")


def test_check_mode_kill_plan_names_the_local_process(shared_topology: Any, run_module: ModuleRunner) -> None:
    before = sentinel_state(shared_topology)
    result = run_module("failover_verify", drill_args(shared_topology, drill="kill"), check_mode=True)
    assert result.rc == 0, result.output
    assert result["changed"] is False
    for shard in shared_topology.shards:
        plan = result["shards"][shard.name]
        assert plan["drill"] == "kill"
        assert plan["action"] == (f"SIGKILL to redis-server process {shard.master.popen.pid}; "
                                  "its service manager restarts it")
    assert sentinel_state(shared_topology) == before


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=10,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _can_unshare(), reason="needs unshare --pid (root)")
def test_a_master_that_is_not_a_local_process_is_refused(shared_topology: Any, run_module: ModuleRunner) -> None:
    """In a PID namespace of its own the module cannot see the master's process, as on another host."""
    shard = shared_topology.shard("shard1")
    result = run_module("failover_verify", drill_args(shared_topology, shards=["shard1"], drill="freeze"),
                        prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    assert result.rc == 1 and result["changed"] is False
    assert result["msg"] == (f"shard shard1: master {shard.master.address_string} reports process id {shard.master.popen.pid}, "
                             "which is no process on this host: run the drill on the host that runs the master")
    assert process_state(shard.master.popen.pid) != "T"

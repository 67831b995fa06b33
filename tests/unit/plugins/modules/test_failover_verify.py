"""failover_verify through its module entry point against real redis-server and redis-sentinel processes."""

from __future__ import annotations

from typing import Any

import pytest

from module_runner import ModuleRunner, all_secrets, drill_args, sentinel_state  # pylint: disable=import-error


def assert_no_secret(result: Any, topology: Any) -> None:
    assert not any(secret in result.output for secret in all_secrets(topology))


def test_drill_of_one_shard_with_restore(fresh_topology: Any, run_module: ModuleRunner) -> None:
    shard1, shard2 = fresh_topology.shard("shard1"), fresh_topology.shard("shard2")
    untouched = sentinel_state(fresh_topology)["shard2"]

    result = run_module("failover_verify", drill_args(fresh_topology, shards=["shard1"], restore=True))

    assert result.rc == 0, result.output
    assert result["changed"] is True
    assert list(result["shards"]) == ["shard1"]
    report = result["shards"]["shard1"]
    assert report["old_master"] == shard1.master.address_string
    assert report["new_master"] == shard1.replica.address_string
    assert report["old_master_role"] == f"replica of {shard1.replica.address_string} (connected)"
    assert report["canaries_written"] == 10 and report["canaries_lost"] == 0
    assert report["routing_verified"] is True and report["error"] is None
    assert 0 < report["failover_ms"] < 40000
    assert isinstance(report["write_gap_ms"], int) and report["write_gap_ms"] < 10000
    assert report["writes_acknowledged"] > 0 and report["quorum"].startswith("OK")
    assert report["restored"] is True and report["restore_ms"] > 0
    # restore=true: shard1's starting master is master again, its replica a replica again
    assert fresh_topology.wait_for_master_agreement("shard1") == shard1.master.address
    assert fresh_topology.role_of(shard1.master.address) == "master"
    assert fresh_topology.role_of(shard1.replica.address) == "slave"
    # the shard that was not selected was never failed over
    assert sentinel_state(fresh_topology)["shard2"] == untouched
    assert fresh_topology.role_of(shard2.master.address) == "master"
    # canaries and writer keys were cleaned up
    admin = fresh_topology.redis_client(shard1.master.address)
    try:
        assert admin.keys("shardinel:drill:*") == [] and admin.keys("*shardinel:drill:writer*") == []
    finally:
        admin.close()
    assert_no_secret(result, fresh_topology)


def test_check_mode_reports_the_plan_and_changes_nothing(shared_topology: Any, run_module: ModuleRunner) -> None:
    before = sentinel_state(shared_topology)
    result = run_module("failover_verify", drill_args(shared_topology, restore=True), check_mode=True)
    assert result.rc == 0, result.output
    assert result["changed"] is False
    assert result["shards"] == {
        shard.name: {"old_master": shard.master.address_string, "drill": "planned", "action": f"SENTINEL FAILOVER {shard.name}",
                     "restore": True}
        for shard in shared_topology.shards
    }
    assert sentinel_state(shared_topology) == before


def test_unknown_shard_fails_naming_it_before_any_change(shared_topology: Any, run_module: ModuleRunner) -> None:
    before = sentinel_state(shared_topology)
    result = run_module("failover_verify", drill_args(shared_topology, shards=["shard1", "shard9"]))
    assert result.rc == 1 and result["changed"] is False
    assert result["msg"] == "shards: unknown shard 'shard9'; the Sentinels monitor shard1, shard2, shard3"
    assert sentinel_state(shared_topology) == before
    assert_no_secret(result, shared_topology)


@pytest.mark.parametrize("override, message", [
    ({"password": "not-the-password"},
     "Redis master {master} of shard shard1 refused the credentials of user 'admin'"),
    ({"sentinel_admin_password": "not-the-password"},
     "Sentinel {sentinel} refused the credentials of user 'sentinel-admin'"),
    ({"sentinel_password": "not-the-password"},
     "Sentinel {sentinel} refused the credentials of user 'sentinel-client'"),
    ({"username": "app", "password": "<app>"},
     "Redis master {master} of shard shard1: user 'app' may not run ROLE"),
])
def test_credential_errors_name_the_user_and_server(
        shared_topology: Any, run_module: ModuleRunner, override: dict[str, str], message: str) -> None:
    if override.get("password") == "<app>":
        override = dict(override, password=shared_topology.users["app"].password)
    result = run_module("failover_verify", drill_args(shared_topology, shards=["shard1"]) | override)
    assert result.rc == 1 and result["changed"] is False
    expected = message.format(master=shared_topology.shard("shard1").master.address_string,
                              sentinel=shared_topology.sentinel_addresses[0])
    assert result["msg"].startswith(expected), result["msg"]
    assert "not-the-password" not in result.output
    assert_no_secret(result, shared_topology)


def test_unreachable_sentinel_fails_before_any_change(shared_topology: Any, run_module: ModuleRunner) -> None:
    args = drill_args(shared_topology, shards=["shard1"])
    result = run_module("failover_verify", args | {"sentinels": args["sentinels"] + ["127.0.0.1:1"]})
    assert result.rc == 1 and result["changed"] is False
    assert result["msg"].startswith("Sentinel 127.0.0.1:1 is unreachable: ")


def test_discovery_user_cannot_fail_over_and_nothing_changes(shared_topology: Any, run_module: ModuleRunner) -> None:
    before = sentinel_state(shared_topology)
    args = drill_args(shared_topology, shards=["shard3"])
    del args["sentinel_admin_username"], args["sentinel_admin_password"]
    result = run_module("failover_verify", args)
    assert result.rc == 1 and result["changed"] is False
    report = result["shards"]["shard3"]
    assert report["failed_over"] is False and report["routing_verified"] is False
    assert "user 'sentinel-client' may not run SENTINEL CKQUORUM" in report["error"]
    assert result["msg"].startswith("failover_verify failed for shard3: CKQUORUM failed: ")
    assert sentinel_state(shared_topology) == before


@pytest.mark.parametrize("override, message", [
    ({"canaries": 0}, "canaries: must be at least 1, got 0"),
    ({"timeout": 0}, "timeout: must be a positive number of seconds, got 0.0"),
    ({"sentinel_admin_password": ""}, "sentinel_admin_username is set but sentinel_admin_password is empty"),
    ({"sentinels": ["127.0.0.1"]}, "sentinels: '127.0.0.1' is not a \"host:port\" address: no port"),
    ({"max_replica_lag_bytes": -1}, "max_replica_lag_bytes: must be 0 or more, got -1"),
    ({"drill": "explode"}, "value of drill must be one of: planned, kill, freeze, got: explode"),
])
def test_bad_options_fail_naming_them(shared_topology: Any, run_module: ModuleRunner, override: dict[str, Any], message: str) -> None:
    result = run_module("failover_verify", drill_args(shared_topology) | override)
    assert result.rc == 1 and result["msg"] == message

"""topology_info through its module entry point against real redis-server and redis-sentinel processes."""

from __future__ import annotations

from typing import Any

from module_runner import ModuleRunner, all_secrets, connection_args  # pylint: disable=import-error


def test_reports_every_shard_with_master_replicas_and_agreement(shared_topology: Any, run_module: ModuleRunner) -> None:
    result = run_module("topology_info", connection_args(shared_topology))
    assert result.rc == 0, result.output
    assert result["changed"] is False
    assert sorted(result["shards"]) == ["shard1", "shard2", "shard3"]
    for name, info in result["shards"].items():
        shard = shared_topology.shard(name)
        assert (info["master"]["host"], info["master"]["port"]) == shard.master.address
        assert info["master"]["address"] == shard.master.address_string and info["master"]["down"] is False
        [replica] = info["replicas"]
        assert replica["address"] == shard.replica.address_string
        assert replica["link_status"] == "ok" and replica["down"] is False
        assert isinstance(replica["lag_seconds"], int) and isinstance(replica["lag_bytes"], int)
        assert info["sentinels"] == 3 and info["sentinels_reporting"] == 3 and info["sentinels_missing"] == []
        assert sorted(info["sentinel_addresses"]) == sorted(shared_topology.sentinel_addresses)
        assert info["sentinels_agree"] is True
        assert set(info["master_by_sentinel"].values()) == {shard.master.address_string}
        assert info["quorum"] == 2 and info["majority"] == 2
        # the discovery-only Sentinel user may not run CKQUORUM, so the module computes it
        assert info["quorum_ok"] is True and info["quorum_check"] == "computed"
    assert [s["address"] for s in result["sentinels"]] == shared_topology.sentinel_addresses
    assert all(s["reachable"] and s["shards"] == ["shard1", "shard2", "shard3"] for s in result["sentinels"])
    assert not any(secret in result.output for secret in all_secrets(shared_topology))


def test_sentinel_admin_user_gets_ckquorum(shared_topology: Any, run_module: ModuleRunner) -> None:
    result = run_module("topology_info", connection_args(shared_topology, sentinel_role="admin") | {"shards": ["shard2"]},
                        check_mode=True)
    assert result.rc == 0, result.output
    assert list(result["shards"]) == ["shard2"]
    info = result["shards"]["shard2"]
    assert info["quorum_check"] == "ckquorum" and info["quorum_ok"] is True
    assert info["quorum_message"].startswith("OK 3 usable Sentinels")


def test_app_user_cannot_read_lag_but_the_rest_works(shared_topology: Any, run_module: ModuleRunner) -> None:
    result = run_module("topology_info", connection_args(shared_topology, redis_role="app"))
    assert result.rc == 0, result.output
    info = result["shards"]["shard1"]
    assert info["replicas"][0]["lag_seconds"] is None
    assert "user 'app' may not run INFO" in info["lag_error"]


def test_survivability_with_an_address_map(shared_topology: Any, run_module: ModuleRunner) -> None:
    """Sentinels 0 and 1 on "data1", Sentinel 2 on a witness; shard members spread over data1/data2, shard3 all on data2."""
    hosts: dict[str, str] = {}
    for index, sentinel in enumerate(shared_topology.sentinels):
        hosts[sentinel.address_string] = "data1" if index < 2 else "witness"
    for shard in shared_topology.shards:
        hosts[shard.master.address_string] = "data1" if shard.name != "shard3" else "data2"
        hosts[shard.replica.address_string] = "data2"
    result = run_module("topology_info", connection_args(shared_topology) | {"address_hosts": hosts})
    assert result.rc == 0, result.output
    analysis = result["survivability"]
    assert analysis["hosts"] == ["data1", "data2", "witness"]
    assert analysis["single_host_shards"] == ["shard3"]
    losses = {loss["host"]: loss for loss in analysis["host_losses"]}
    assert "shard1: 1 of 3 Sentinels left, a failover needs a majority of 2" in losses["data1"]["problems"]
    assert losses["data2"]["problems"] == ["shard3: the master and every replica are on data2"]
    assert analysis["survivable_host_losses"] == ["witness"]
    assert analysis["every_single_host_loss_survivable"] is False


def test_unknown_shard_fails_naming_it(shared_topology: Any, run_module: ModuleRunner) -> None:
    result = run_module("topology_info", connection_args(shared_topology) | {"shards": ["shard1", "nosuchshard"]})
    assert result.rc == 1 and result["failed"]
    assert "nosuchshard" in result["msg"] and "known: shard1, shard2, shard3" in result["msg"]


def test_wrong_sentinel_password_names_the_sentinel_and_hides_the_secret(shared_topology: Any, run_module: ModuleRunner) -> None:
    wrong = "wrong-" + shared_topology.sentinel_users["client"].password
    result = run_module("topology_info", connection_args(shared_topology) | {"sentinel_password": wrong})
    assert result.rc == 1
    first = shared_topology.sentinel_addresses[0]
    assert result["msg"].startswith(f"Sentinel {first} refused the credentials of user 'sentinel-client'")
    assert wrong not in result.output
    assert not any(secret in result.output for secret in all_secrets(shared_topology))


def test_unreachable_sentinel_is_reported_and_all_unreachable_fails(shared_topology: Any, run_module: ModuleRunner) -> None:
    dead = "127.0.0.1:1"
    result = run_module("topology_info", connection_args(shared_topology) | {
        "sentinels": [dead] + shared_topology.sentinel_addresses})
    assert result.rc == 0, result.output
    assert result["sentinels"][0]["reachable"] is False
    assert result["sentinels"][0]["error"].startswith(f"Sentinel {dead} is unreachable")
    assert result["shards"]["shard1"]["sentinels_agree"] is True

    result = run_module("topology_info", connection_args(shared_topology) | {"sentinels": [dead]})
    assert result.rc == 1
    assert result["msg"].startswith(f"no Sentinel is reachable: Sentinel {dead} is unreachable")


def test_bad_address_fails_before_connecting(run_module: ModuleRunner) -> None:
    result = run_module("topology_info", {"sentinels": ["nothing-here"], "sentinel_password": "hunter2-secret"})
    assert result.rc == 1
    assert result["msg"] == "sentinels: 'nothing-here' is not a \"host:port\" address: no port"
    assert "hunter2-secret" not in result.output

"""topology_info and failover_verify with their tls options against TLS-only Redis and Sentinel processes."""

from __future__ import annotations

from typing import Any

from module_runner import ModuleRunner, all_secrets, connection_args, drill_args  # pylint: disable=import-error


def tls_args(topology: Any) -> dict[str, Any]:
    return {"tls": True, "tls_ca_file": str(topology.tls.ca), "tls_check_hostname": True}


def other_member(topology: Any, name: str, address: str) -> str:
    shard = topology.shard(name)
    return shard.replica.address_string if address == shard.master.address_string else shard.master.address_string


def test_topology_info_over_tls(tls_topology: Any, run_module: ModuleRunner) -> None:
    result = run_module("topology_info", connection_args(tls_topology, sentinel_role="admin") | tls_args(tls_topology))
    assert result.rc == 0, result.output
    assert sorted(result["shards"]) == tls_topology.shard_names
    for name, info in result["shards"].items():
        master = "%s:%d" % tls_topology.wait_for_master_agreement(name)
        assert info["master"]["address"] == master and info["master"]["down"] is False
        [replica] = info["replicas"]
        assert replica["address"] == other_member(tls_topology, name, master)
        # lag comes from INFO replication on the master: a Redis connection over TLS
        assert replica["link_status"] == "ok" and isinstance(replica["lag_bytes"], int)
        assert info["sentinels_reporting"] == 3 and info["sentinels_agree"] is True
        assert info["quorum_check"] == "ckquorum" and info["quorum_ok"] is True
    assert all(s["reachable"] and s["tilt"] is False for s in result["sentinels"])
    assert not any(secret in result.output for secret in all_secrets(tls_topology))


def test_topology_info_without_tls_names_the_unreachable_sentinels(tls_topology: Any, run_module: ModuleRunner) -> None:
    args = connection_args(tls_topology)
    del args["sentinel_username"], args["sentinel_password"], args["username"], args["password"]
    result = run_module("topology_info", args)
    assert result.rc == 1 and result["failed"]
    assert result["msg"].startswith("no Sentinel is reachable: Sentinel %s is unreachable" % tls_topology.sentinel_addresses[0])


def test_planned_drill_over_tls_with_restore(tls_topology: Any, run_module: ModuleRunner) -> None:
    start = "%s:%d" % tls_topology.wait_for_master_agreement("shard2")
    result = run_module("failover_verify", drill_args(tls_topology, shards=["shard2"], restore=True) | tls_args(tls_topology))
    assert result.rc == 0, result.output
    report = result["shards"]["shard2"]
    assert report["error"] is None, report
    assert report["old_master"] == start and report["new_master"] == other_member(tls_topology, "shard2", start)
    assert report["old_master_role"] == "replica of %s (connected)" % report["new_master"]
    # the drill's client wrote and followed the failover through TLS connections to Redis and to the Sentinels
    assert report["canaries_written"] == 10 and report["canaries_lost"] == 0 and report["routing_verified"] is True
    assert report["writes_acknowledged"] > 0 and report["writes_lost"] == 0
    assert report["restored"] is True
    assert "%s:%d" % tls_topology.wait_for_master_agreement("shard2") == start
    tls_topology.wait_until_sentinels_ready()
    assert not any(secret in result.output for secret in all_secrets(tls_topology))


def test_tls_without_verification_reaches_the_servers(tls_topology: Any, run_module: ModuleRunner) -> None:
    result = run_module("topology_info", connection_args(tls_topology) | {"tls": True, "tls_verify": False, "shards": ["shard1"]})
    assert result.rc == 0, result.output
    assert result["shards"]["shard1"]["sentinels_agree"] is True


def test_hostname_check_without_verification_is_refused(tls_topology: Any, run_module: ModuleRunner) -> None:
    args = connection_args(tls_topology) | {"tls": True, "tls_verify": False, "tls_check_hostname": True}
    result = run_module("topology_info", args)
    assert result.rc == 1 and result["failed"]
    assert result["msg"].startswith("tls_check_hostname needs tls_verify")

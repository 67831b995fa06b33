"""shardinel.redis.topology_check through its real entry point, against real Redis and Sentinel processes: every
Sentinel answers, every shard has an agreed master and an in-sync replica, looked at again until the timeout."""

from __future__ import annotations

import signal
import socket
import threading
import time

from module_runner import all_secrets  # pylint: disable=import-error


def check_args(topology, **extra):
    sentinel, admin = topology.sentinel_users["client"], topology.users["admin"]
    args = {"shards": topology.shard_names, "sentinels": topology.sentinel_addresses,
            "sentinel_username": sentinel.username, "sentinel_password": sentinel.password,
            "username": admin.username, "password": admin.password, "timeout": 10}
    if topology.tls is not None:
        args.update(tls=True, tls_ca_file=str(topology.tls.ca), tls_cert_file=str(topology.tls.client_cert),
                    tls_key_file=str(topology.tls.client_key))
    return dict(args, **extra)


def expected_shards(topology):
    shards = {}
    for shard in topology.shard_names:
        host, port = topology.wait_for_master_agreement(shard)
        master = f"{host}:{port}"
        replica = next(m.address_string for m in topology.shard(shard).members if m.address_string != master)
        shards[shard] = {"master": master, "in_sync_replicas": [replica], "problems": []}
    return shards


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_names_every_master_and_in_sync_replica(shared_topology, run_module):
    for check_mode in (False, True):
        result = run_module("topology_check", check_args(shared_topology), check_mode=check_mode)
        assert result.rc == 0 and not result["changed"], result.output
        assert result["healthy"] and result["problems"] == [] and result["attempts"] == 1
        assert result["sentinels_answering"] == sorted(shared_topology.sentinel_addresses)
        assert result["sentinels_not_answering"] == []
        assert result["shards"] == expected_shards(shared_topology)
        assert not any(secret in result.output for secret in all_secrets(shared_topology))


def test_an_unknown_shard_and_a_silent_sentinel_are_named(shared_topology, run_module):
    silent = f"127.0.0.1:{closed_port()}"
    args = check_args(shared_topology, shards=shared_topology.shard_names + ["unknown"],
                      sentinels=shared_topology.sentinel_addresses + [silent], timeout=1)
    started = time.monotonic()
    result = run_module("topology_check", args)
    assert result.rc != 0 and result["failed"] and time.monotonic() - started < 15, result.output
    assert result["attempts"] > 1 and result["sentinels_not_answering"] == [silent]
    assert f"Sentinel {silent} does not answer" in result["msg"]
    assert "unknown: the Sentinels do not all name the same master, up:" in result["msg"]
    assert "ERR No such master with that name" in result["msg"]
    # Without every Sentinel no master is agreed on: the report says so for each shard.
    assert all(entry["master"] is None for entry in result["shards"].values())
    assert not any(secret in result.output for secret in all_secrets(shared_topology))


def test_without_failing_it_looks_once_and_returns_the_report(shared_topology, run_module):
    args = check_args(shared_topology, shards=["unknown"] + shared_topology.shard_names, timeout=0, fail_on_problems=False)
    result = run_module("topology_check", args)
    assert result.rc == 0 and not result["healthy"] and result["attempts"] == 1, result.output
    assert result["shards"]["unknown"]["master"] is None
    assert result["problems"] == ["unknown: " + problem for problem in result["shards"]["unknown"]["problems"]]
    known = expected_shards(shared_topology)
    assert {name: result["shards"][name] for name in known} == known


def test_waits_until_a_shard_has_its_replica_back(fresh_topology, run_module):
    topology = fresh_topology
    replica = topology.shards[0].replica
    replica.kill(signal.SIGKILL)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=run_module("topology_check", check_args(topology, timeout=40))))
    worker.start()
    time.sleep(1.5)
    topology.restart(replica)  # in this thread: a process started by the worker thread would die with it
    worker.join(60)
    result = outcome["result"]
    assert result.rc == 0 and result["healthy"], result.output
    assert result["attempts"] > 1 and result["waited_s"] >= 1
    assert result["shards"] == expected_shards(topology)


def test_over_tls(tls_topology, run_module):
    result = run_module("topology_check", check_args(tls_topology))
    assert result.rc == 0 and result["healthy"], result.output
    assert result["shards"] == expected_shards(tls_topology)
    plaintext = check_args(tls_topology, tls=False, tls_ca_file=None, tls_cert_file=None, tls_key_file=None, timeout=0)
    result = run_module("topology_check", plaintext)
    assert result.rc != 0 and len(result["sentinels_not_answering"]) == len(tls_topology.sentinels), result.output


def test_options_are_checked(shared_topology, run_module):
    result = run_module("topology_check", check_args(shared_topology, sentinels=["no-port"]))
    assert result.rc != 0 and result["msg"].startswith("sentinels: 'no-port' is not a \"host:port\" address"), result.output
    result = run_module("topology_check", check_args(shared_topology, tls_ca_file="/ca.crt"))
    assert result.rc != 0 and result["msg"] == "tls_ca_file is set but tls is false", result.output
    result = run_module("topology_check", check_args(shared_topology, timeout=-1))
    assert result.rc != 0 and "timeout" in result["msg"], result.output


def test_a_refused_login_ends_the_looking_at_once(shared_topology, run_module):
    for option in ("sentinel_password", "password"):
        started = time.monotonic()
        result = run_module("topology_check", check_args(shared_topology, **{option: "wrong-password"}))
        assert result.rc != 0 and time.monotonic() - started < 8 and result["attempts"] == 1, result.output
        assert result["login_refused"] and " refused user " in result["msg"] and "WRONGPASS" in result["msg"], result.output
        assert "wrong-password" not in result.output
        result = run_module("topology_check", check_args(shared_topology, fail_on_problems=False, **{option: "wrong-password"}))
        assert result.rc == 0 and result["login_refused"] and not result["healthy"], result.output
    assert result["sentinels_answering"] == sorted(shared_topology.sentinel_addresses)
    assert all(" refused user admin" in entry["problems"][0] for entry in result["shards"].values()), result["shards"]

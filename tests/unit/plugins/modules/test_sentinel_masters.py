"""shardinel.redis.sentinel_masters against real Sentinels: every view, the current masters, and after a failover."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from module_runner import module_runner
from redis_topology import RedisTopology


def args(topology: RedisTopology, **extra: object) -> dict:
    user = topology.sentinel_users["client"]
    return {"sentinels": topology.sentinel_addresses, "sentinel_username": user.username,
            "sentinel_password": user.password, **extra}


def test_every_view_and_the_current_masters(shared_topology: RedisTopology, tmp_path: Path) -> None:
    result = module_runner(tmp_path)("sentinel_masters", args(shared_topology), check_mode=True)
    assert result.rc == 0 and result["changed"] is False
    assert sorted(result["views"]) == sorted(shared_topology.sentinel_addresses)
    assert result["unanswered"] == {}
    for shard in shared_topology.shards:
        master = result["masters"][shard.name]
        assert master["sentinels"] == len(shared_topology.sentinels)
        assert master["address"] == result["current_masters"][shard.name]
        assert master["address"] == "%s:%d" % shared_topology.wait_for_master_agreement(shard.name)


def test_a_stale_sentinel_is_outvoted_by_the_newest_config_epoch(fresh_topology: RedisTopology, tmp_path: Path) -> None:
    shard = fresh_topology.shards[0]
    stale = fresh_topology.sentinels[0]
    stale.kill()
    old = shard.master.address
    fresh_topology.force_failover(shard.name)
    new = fresh_topology.settle_after_failover(shard.name, old)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        down = "127.0.0.1:%d" % closed.getsockname()[1]
    # The stale Sentinel's config still names the old master: start it and ask before it learns otherwise.
    stale.start()
    sentinels = fresh_topology.sentinel_addresses + [down]
    result = module_runner(tmp_path)("sentinel_masters", args(fresh_topology, sentinels=sentinels, timeout=2.0))
    assert result.rc == 0, result.output
    assert result["current_masters"][shard.name] == "%s:%d" % new
    assert down in result["unanswered"]


def test_a_wrong_password_fails_without_the_password(shared_topology: RedisTopology, tmp_path: Path) -> None:
    result = module_runner(tmp_path)("sentinel_masters", args(shared_topology, sentinel_password="wrong-9c1e"))
    assert result.rc == 1 and result["failed"]
    assert "sentinel-client" in result["msg"] and "wrong-9c1e" not in result.output


@pytest.mark.parametrize("extra, message", [
    ({"sentinels": ["nohost"]}, "sentinels"),
    ({"timeout": 0}, "timeout"),
    ({"tls_ca_file": "/ca.crt"}, "tls_ca_file"),
])
def test_bad_arguments_name_the_option(shared_topology: RedisTopology, tmp_path: Path, extra: dict, message: str) -> None:
    result = module_runner(tmp_path)("sentinel_masters", args(shared_topology, **extra))
    assert result.rc == 1 and message in result["msg"]


def test_tls(tls_topology: RedisTopology, tmp_path: Path) -> None:
    assert tls_topology.tls is not None
    result = module_runner(tmp_path)("sentinel_masters", args(tls_topology, tls=True, tls_ca_file=str(tls_topology.tls.ca)))
    assert result.rc == 0, result.output
    assert sorted(result["current_masters"]) == tls_topology.shard_names


def test_a_previous_password_is_tried_when_the_current_one_is_refused(shared_topology: RedisTopology, tmp_path: Path) -> None:
    """During a rotation the running Sentinels accept only what is now a previous password."""
    user = shared_topology.sentinel_users["client"]
    result = module_runner(tmp_path)("sentinel_masters", args(shared_topology, sentinel_password="new-not-applied-yet-5b1",
                                                              sentinel_previous_passwords=[user.password]))
    assert result.rc == 0, result.output
    assert sorted(result["current_masters"]) == shared_topology.shard_names
    refused = module_runner(tmp_path)("sentinel_masters", args(shared_topology, sentinel_password="new-5b1",
                                                               sentinel_previous_passwords=["old-5b1"]))
    assert refused.rc == 1 and "old-5b1" not in refused.output and "new-5b1" not in refused.output

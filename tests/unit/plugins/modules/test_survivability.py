"""Survivability analysis: which single-host losses every shard survives (pure function, seed and witness layouts)."""

from __future__ import annotations

from typing import Any

from ansible_collections.shardinel.redis.plugins.module_utils.topology_report import analyse_survivability

HOST_IPS = {"redis1": "10.0.0.1", "redis2": "10.0.0.2", "witness": "10.0.0.3"}


def sentinels_on(host: str, count: int) -> list[str]:
    return [f"{HOST_IPS[host]}:{26379 + i}" for i in range(count)]


def shard(master: str, replicas: list[str], sentinels: list[str], quorum: int = 2, port: int = 6379) -> dict[str, Any]:
    return {
        "master": {"address": f"{HOST_IPS[master]}:{port}"},
        "replicas": [{"address": f"{HOST_IPS[r]}:{port}"} for r in replicas],
        "sentinel_addresses": sentinels,
        "sentinels": len(sentinels),
        "quorum": quorum,
    }


def address_hosts(shards: dict[str, Any]) -> dict[str, str]:
    by_ip = {ip: host for host, ip in HOST_IPS.items()}
    addresses = set()
    for entry in shards.values():
        addresses.add(entry["master"]["address"])
        addresses.update(r["address"] for r in entry["replicas"])
        addresses.update(entry["sentinel_addresses"])
    return {address: by_ip[address.split(":")[0]] for address in addresses}


def seed_layout(sentinels: list[str]) -> dict[str, Any]:
    """Two shards, masters and replicas paired on opposing hosts."""
    return {
        "shard1": shard("redis1", ["redis2"], sentinels, port=6379),
        "shard2": shard("redis2", ["redis1"], sentinels, port=6380),
    }


def test_seed_layout_survives_no_host_loss() -> None:
    shards = seed_layout(sentinels_on("redis1", 2) + sentinels_on("redis2", 2))
    result = analyse_survivability(shards, address_hosts(shards))
    assert result["hosts"] == ["redis1", "redis2"]
    assert result["survivable_host_losses"] == []
    assert result["unsurvivable_host_losses"] == ["redis1", "redis2"]
    assert result["every_single_host_loss_survivable"] is False
    loss = result["host_losses"][0]
    assert loss["host"] == "redis1" and not loss["survivable"]
    assert "shard1: 2 of 4 Sentinels left, a failover needs a majority of 3" in loss["problems"]
    assert result["single_host_shards"] == [] and result["unmapped_addresses"] == []


def test_a_witness_makes_every_single_host_loss_survivable() -> None:
    shards = seed_layout(sentinels_on("redis1", 2) + sentinels_on("redis2", 2) + sentinels_on("witness", 1))
    result = analyse_survivability(shards, address_hosts(shards))
    assert result["hosts"] == ["redis1", "redis2", "witness"]
    assert result["survivable_host_losses"] == ["redis1", "redis2", "witness"]
    assert result["every_single_host_loss_survivable"] is True
    assert all(loss["problems"] == [] for loss in result["host_losses"])


def test_quorum_above_what_is_left_is_reported() -> None:
    shards = seed_layout(sentinels_on("redis1", 2) + sentinels_on("redis2", 2) + sentinels_on("witness", 1))
    shards["shard2"]["quorum"] = 4
    result = analyse_survivability(shards, address_hosts(shards))
    assert result["survivable_host_losses"] == ["witness"]
    assert "shard2: 3 of 5 Sentinels left, below the quorum of 4" in result["host_losses"][0]["problems"]


def test_shard_with_master_and_replicas_on_one_host_is_flagged() -> None:
    sentinels = sentinels_on("redis1", 2) + sentinels_on("redis2", 2) + sentinels_on("witness", 1)
    shards = {
        "shard1": shard("redis1", ["redis2"], sentinels, port=6379),
        "shard2": shard("redis2", ["redis2"], sentinels, port=6380) | {
            "replicas": [{"address": "10.0.0.2:6381"}]},
    }
    hosts = address_hosts(shards)
    result = analyse_survivability(shards, hosts)
    assert result["single_host_shards"] == ["shard2"]
    assert result["survivable_host_losses"] == ["redis1", "witness"]
    redis2 = next(loss for loss in result["host_losses"] if loss["host"] == "redis2")
    assert redis2["problems"] == ["shard2: the master and every replica are on redis2"]


def test_without_a_map_each_ip_is_a_host_and_missing_addresses_are_listed() -> None:
    shards = seed_layout(sentinels_on("redis1", 2) + sentinels_on("redis2", 2) + sentinels_on("witness", 1))
    assert analyse_survivability(shards)["hosts"] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    partial = {"10.0.0.1:26379": "redis1"}
    result = analyse_survivability(shards, partial)
    assert "10.0.0.3:26379" in result["unmapped_addresses"] and "10.0.0.1:26379" not in result["unmapped_addresses"]


def test_a_sentinel_in_tilt_mode_cannot_vote() -> None:
    """With a witness every single host loss is survivable, unless a Sentinel elsewhere is in TILT mode."""
    sentinels = sentinels_on("redis1", 2) + sentinels_on("redis2", 2) + sentinels_on("witness", 1)
    shards = seed_layout(sentinels)
    tilted = sentinels_on("redis2", 1)
    result = analyse_survivability(shards, address_hosts(shards), tilted)
    assert result["sentinels_in_tilt"] == tilted and result["problems_now"] == []
    assert result["survivable_host_losses"] == ["redis2", "witness"]
    redis1 = next(loss for loss in result["host_losses"] if loss["host"] == "redis1")
    assert ("shard1: 2 of 5 Sentinels left (1 more in TILT mode cannot vote), a failover needs a majority of 3"
            in redis1["problems"])
    # two of three Sentinels in TILT: no failover is possible even before any host is lost
    three = {"shard1": shard("redis1", ["redis2"], sentinels_on("redis1", 1) + sentinels_on("redis2", 1) + sentinels_on("witness", 1))}
    result = analyse_survivability(three, address_hosts(three), sentinels_on("redis1", 1) + sentinels_on("witness", 1))
    assert result["problems_now"] == ["shard1: 1 of 3 Sentinels left (2 more in TILT mode cannot vote), a failover needs a majority of 2"]
    assert result["every_single_host_loss_survivable"] is False

"""Reads from replicas with fallback to the master."""

import signal

from shardinel import ShardedSentinelClient


def _gets(topology, address):
    admin = topology.redis_client(address)
    try:
        return admin.info("commandstats").get("cmdstat_get", {}).get("calls", 0)
    finally:
        admin.close()


def test_reads_go_to_replicas_and_fall_back(fresh_topology):
    topology = fresh_topology
    with ShardedSentinelClient(topology.sentinel_addresses, read_from_replicas=True, decode_responses=True,
                               **topology.client_kwargs()) as client:
        key = "replica:key"
        shard = topology.shard(client.shard_for(key))
        client.execute_command("SET", key, "v")
        admin = topology.redis_client(shard.master.address)
        admin.wait(1, 1000)
        admin.close()
        before_replica, before_master = _gets(topology, shard.replica.address), _gets(topology, shard.master.address)
        assert [client.get(key) for _unused in range(10)] == ["v"] * 10
        assert _gets(topology, shard.replica.address) - before_replica == 10
        assert _gets(topology, shard.master.address) == before_master
        shard.replica.kill(signal.SIGKILL)
        assert [client.get(key) for _unused in range(5)] == ["v"] * 5
        assert _gets(topology, shard.master.address) - before_master >= 5

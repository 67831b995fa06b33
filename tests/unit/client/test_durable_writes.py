"""durable_writes: every write waits for replicas (WAIT on its own connection); DurabilityError when they do not confirm."""

import signal
import time

import pytest
import redis

from failover_writer import FailoverWriter, tag_on
from shardinel import DurabilityError, ShardedSentinelClient


def _wait_calls(topology, address):
    """How many WAIT commands the server at address has run (INFO commandstats)."""
    client = topology.redis_client(address)
    try:
        return int(client.info("commandstats").get("cmdstat_wait", {}).get("calls", 0))
    finally:
        client.close()


def _waits_by_shard(topology, client):
    return {name: _wait_calls(topology, client.master_for_shard(name)) for name in client.shards}


def _replica_values(topology, shard_name, keys):
    reader = topology.redis_client(topology.shard(shard_name).replica.address, decode_responses=True)
    try:
        return reader.mget(keys)
    finally:
        reader.close()


@pytest.fixture(scope="module")
def durable(shared_topology):
    with ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=1, decode_responses=True,
                               **shared_topology.client_kwargs()) as client:
        yield client


def test_durable_writes_are_on_the_replica_when_they_return(durable, shared_topology):
    for shard in durable.shards:
        tag = tag_on(durable, shard, "dw")
        key, counter, fields, stream = (f"{{{tag}}}:{name}" for name in ("key", "counter", "hash", "stream"))
        before = _wait_calls(shared_topology, durable.master_for_shard(shard))
        assert durable.set(key, "v") is True
        assert _replica_values(shared_topology, shard, [key]) == ["v"]
        assert durable.incr(counter) == 1
        assert durable.hset(fields, mapping={"a": "1", "b": "2"}) == 2
        assert durable.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, counter, 4) == 5
        assert durable.xgroup_create(stream, "readers", id="$", mkstream=True) is True
        assert _replica_values(shared_topology, shard, [counter]) == ["5"]
        assert _wait_calls(shared_topology, durable.master_for_shard(shard)) == before + 5
        durable.delete(key, counter, fields, stream)


def test_command_errors_are_raised_as_without_durability(durable):
    durable.set("{de}s", "x")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        durable.lpush("{de}s", 1)
    with durable.pipeline(transaction=False) as pipe:
        results = pipe.incr("{de}s").set("{de}ok", 1).execute(raise_on_error=False)
    assert isinstance(results[0], redis.exceptions.ResponseError) and results[1] is True
    durable.delete("{de}s", "{de}ok")


def test_reads_send_no_wait(durable, shared_topology):
    keys = [f"dr:{i}" for i in range(30)]
    durable.mset({k: k for k in keys})
    durable.hset("{dr}h", "f", "v")
    assert {"GET", "HGET"} <= durable._fast_commands and "SET" not in durable._fast_commands  # pylint: disable=protected-access
    before = _waits_by_shard(shared_topology, durable)
    assert durable.get(keys[0]) == keys[0]
    assert durable.mget(keys) == keys
    assert durable.exists(*keys) == len(keys)
    assert durable.hgetall("{dr}h") == {"f": "v"}
    assert durable.eval_ro("return redis.call('GET', KEYS[1])", 1, keys[1]) == keys[1]
    with durable.pipeline(transaction=False) as pipe:
        assert pipe.get(keys[2]).mget(keys).strlen(keys[3]).execute() == [keys[2], keys, len(keys[3])]
    assert _waits_by_shard(shared_topology, durable) == before
    durable.delete(*keys, "{dr}h")


def test_cross_shard_mset_and_delete_wait_on_every_shard(durable, shared_topology):
    keys = [f"dm:{i}" for i in range(60)]
    by_shard = {shard: [k for k in keys if durable.shard_for(k) == shard] for shard in durable.shards}
    assert all(by_shard.values())
    before = _waits_by_shard(shared_topology, durable)
    assert durable.mset({k: f"v{k}" for k in keys}) is True
    for shard, shard_keys in by_shard.items():
        assert _replica_values(shared_topology, shard, shard_keys) == [f"v{k}" for k in shard_keys]
    assert durable.delete(*keys) == len(keys)
    for shard, shard_keys in by_shard.items():
        assert _replica_values(shared_topology, shard, shard_keys) == [None] * len(shard_keys)
    after = _waits_by_shard(shared_topology, durable)
    assert {shard: after[shard] - before[shard] for shard in durable.shards} == {shard: 2 for shard in durable.shards}


def test_pipeline_waits_once_per_shard_batch_that_writes(durable, shared_topology):
    writing, reading = durable.shards[0], durable.shards[1]
    written = [f"{{{tag_on(durable, writing, 'dp')}}}:{i}" for i in range(5)]
    read = f"{{{tag_on(durable, reading, 'dp')}}}:r"
    before = _waits_by_shard(shared_topology, durable)
    with durable.pipeline(transaction=False) as pipe:
        for index, key in enumerate(written):
            pipe.set(key, index)
        pipe.wait(1, 1000).get(read).get(written[0])
        results = pipe.execute()
    assert results[:5] == [True] * 5 and results[5] >= 1 and results[6:] == [None, "0"]
    assert _replica_values(shared_topology, writing, written) == [str(i) for i in range(5)]
    after = _waits_by_shard(shared_topology, durable)
    assert after[writing] - before[writing] == 2  # the explicit WAIT and the batch's own
    assert after[reading] == before[reading]
    durable.delete(*written)


def test_transactions_wait_after_exec(durable, shared_topology):
    shard = durable.shard_for("{dtx}a")
    before = _wait_calls(shared_topology, durable.master_for_shard(shard))
    with durable.pipeline(transaction=True) as pipe:
        assert pipe.set("{dtx}a", 1).incr("{dtx}a").get("{dtx}a").execute() == [True, 2, "2"]
    assert _replica_values(shared_topology, shard, ["{dtx}a"]) == ["2"]
    with durable.pipeline() as pipe:
        pipe.watch("{dtx}a")
        value = int(pipe.get("{dtx}a"))
        pipe.set("{dtx}log", "watched")  # written at once, before MULTI: waited for at once
        pipe.multi()
        pipe.set("{dtx}a", value + 1).get("{dtx}a")
        assert pipe.execute() == [True, "3"]
    assert _replica_values(shared_topology, shard, ["{dtx}a", "{dtx}log"]) == ["3", "watched"]
    assert _wait_calls(shared_topology, durable.master_for_shard(shard)) == before + 3
    durable.delete("{dtx}a", "{dtx}log")


@pytest.mark.parametrize(("settings", "named"), [
    ({"durable_writes": -1}, "durable_writes"),
    ({"durable_writes": 1.5}, "durable_writes"),
    ({"durable_writes": True}, "durable_writes"),
    ({"durable_writes": "1"}, "durable_writes"),
    ({"durable_writes": 1, "durable_timeout": 0}, "durable_timeout"),
    ({"durable_writes": 1, "durable_timeout": -2}, "durable_timeout"),
    ({"durable_timeout": "1"}, "durable_timeout"),
    ({"durable_writes": 1, "durable_timeout": 2, "socket_timeout": 1}, "socket_timeout"),
])
def test_bad_durability_settings_are_refused_before_connecting(settings, named):
    with pytest.raises(ValueError, match=named):
        ShardedSentinelClient(["127.0.0.1:1"], **settings)


def test_more_durable_writes_than_known_replicas_is_refused(shared_topology):
    with pytest.raises(ValueError, match=r"durable_writes=2 .* shards 'shard1' \(1\), 'shard2' \(1\), 'shard3' \(1\)"):
        ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=2, **shared_topology.client_kwargs())
    with ShardedSentinelClient(shared_topology.sentinel_addresses, durable_writes=1, socket_timeout=3,
                               **shared_topology.client_kwargs()) as client:
        assert client.shards == shared_topology.shard_names


def test_write_not_confirmed_in_time_raises_durability_error_and_is_not_resent(fresh_topology):
    topology = fresh_topology
    shard, other = "shard1", "shard2"
    replica = topology.shard(shard).replica
    with ShardedSentinelClient(topology.sentinel_addresses, durable_writes=1, durable_timeout=0.3, decode_responses=True,
                               **topology.client_kwargs()) as client:
        master = client.master_for_shard(shard)
        counter = f"{{{tag_on(client, shard, 'd')}}}:counter"
        elsewhere = f"{{{tag_on(client, other, 'd')}}}:key"
        replica.kill(signal.SIGSTOP)
        try:
            with pytest.raises(DurabilityError) as raised:
                client.incr(counter)
            error = raised.value
            assert isinstance(error, redis.exceptions.RedisError)
            assert (error.shard, error.master, error.acknowledged, error.required) == (shard, f"{master[0]}:{master[1]}", 0, 1)
            assert (error.command, error.results, error.timeout, error.cause) == ("INCRBY", 1, 0.3, None)
            assert f"shard {shard!r}" in str(error) and "acknowledged by 0 replicas; 1 required" in str(error)
            assert "may still have been applied" in str(error) and "may still have been applied" in DurabilityError.__doc__
            with pytest.raises(DurabilityError, match=f"pipeline of 2 commands on shard {shard!r}"):
                client.pipeline(transaction=False).incr(counter).get(counter).set(elsewhere, 1).execute()
            with pytest.raises(DurabilityError, match=f"MULTI/EXEC of 1 command on shard {shard!r}") as raised:
                client.pipeline(transaction=True).incr(counter).execute()
            assert raised.value.results == [3]
            assert client.set(elsewhere, 2) is True
            plain = topology.redis_client(master, decode_responses=True)
            assert plain.get(counter) == "3"  # each write applied once: none was sent again
            plain.close()
        finally:
            replica.kill(signal.SIGCONT)
        topology.wait_for_replica_in_sync(replica.address)
        assert client.incr(counter) == 4


def test_durable_writer_loses_no_acknowledged_write_across_a_forced_failover(fresh_topology):
    topology = fresh_topology
    shard = "shard1"
    with ShardedSentinelClient(topology.sentinel_addresses, durable_writes=1, **topology.client_kwargs()) as client:
        assert client.wait_for_switch_listener(5)
        with FailoverWriter(client, tag_on(client, shard, "d"), wait_ms=None, pause=0.001) as writer:
            time.sleep(0.5)
            started = time.monotonic()
            old = topology.force_failover(shard)
            new = topology.settle_after_failover(shard, old)
            time.sleep(0.5)
        assert client.master_for_shard(shard) == new != old
        reader = topology.redis_client(new)
        missing, _replica_acked_missing = writer.report.missing(reader)
        reader.close()
        report = writer.report
        print(f"\ndurable writer, forced failover: acked={len(report.acked)} errors={report.errors} "
              f"missing acked={missing} write gap={report.gap(after=started):.2f}s")
        assert report.success_times[0] < started < report.success_times[-1]
        assert missing == 0

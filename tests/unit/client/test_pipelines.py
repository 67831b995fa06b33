"""Cross-shard pipelines and single-shard transactions (as the app user, which has +@transaction)."""

import pytest
import redis

from shardinel import CrossShardError, ShardedSentinelClient


@pytest.fixture(scope="module")
def client(shared_topology):
    with ShardedSentinelClient(shared_topology.sentinel_addresses, decode_responses=True, **shared_topology.client_kwargs()) as c:
        yield c


def test_cross_shard_pipeline_results_in_call_order(client):
    keys = [f"pipe:{i}" for i in range(40)]
    pipe = client.pipeline(transaction=False)
    for index, key in enumerate(keys):
        pipe.set(key, index)
    pipe.mget(keys)
    for key in keys:
        pipe.incr(key)
    pipe.delete(*keys)
    results = pipe.execute()
    assert results[:40] == [True] * 40
    assert results[40] == [str(i) for i in range(40)]
    assert results[41:81] == [i + 1 for i in range(40)]
    assert results[81] == 40


def test_pipeline_errors_in_place(client):
    client.set("pipe:str", "x")
    with client.pipeline(transaction=False) as pipe:
        results = pipe.incr("pipe:str").set("pipe:ok", 1).execute(raise_on_error=False)
    assert isinstance(results[0], redis.exceptions.ResponseError) and results[1] is True


def test_transaction_within_one_shard(client):
    with client.pipeline(transaction=True) as pipe:
        pipe.set("{tx}a", 1).incr("{tx}a").get("{tx}a")
        assert pipe.execute() == [True, 2, "2"]


def test_transaction_across_shards_is_refused(client):
    other = next(f"tx:{i}" for i in range(100) if client.shard_for(f"tx:{i}") != client.shard_for("{tx}a"))
    pipe = client.pipeline(transaction=True)
    pipe.set("{tx}a", 1).set(other, 1)
    with pytest.raises(CrossShardError, match="MULTI"):
        pipe.execute()
    assert client.get(other) is None


def test_watch_multi_exec(client):
    client.set("{w}balance", 10)
    with client.pipeline() as pipe:
        pipe.watch("{w}balance")
        balance = int(pipe.get("{w}balance"))
        pipe.multi()
        pipe.set("{w}balance", balance - 3)
        pipe.set("{w}log", "debit")
        assert pipe.execute() == [True, True]
    assert client.get("{w}balance") == "7"
    with client.pipeline() as pipe:
        pipe.watch("{w}balance")
        client.set("{w}balance", 0)
        pipe.multi()
        pipe.set("{w}balance", 100)
        with pytest.raises(redis.exceptions.WatchError):
            pipe.execute()
    other = next(f"w:{i}" for i in range(100) if client.shard_for(f"w:{i}") != client.shard_for("{w}balance"))
    with client.pipeline() as pipe:
        pipe.watch("{w}balance")
        with pytest.raises(CrossShardError):
            pipe.watch(other)

"""The parts of redis-py's Redis API beyond commands that applications use (issue 19, point 3), on real processes."""

import threading
import urllib.parse

import pytest
import redis
from redis.backoff import NoBackoff
from redis.lock import Lock
from redis.retry import Retry

from shardinel import CrossShardError, ShardedPipeline, ShardedSentinelClient


@pytest.fixture(scope="module")
def client(shared_topology):
    admin = shared_topology.users["admin"]
    kwargs = dict(shared_topology.client_kwargs(), username=admin.username, password=admin.password)
    with ShardedSentinelClient(shared_topology.sentinel_addresses, decode_responses=True, **kwargs) as c:
        yield c


def test_lock_is_redis_pys_lock_on_the_names_shard(client, shared_topology):
    lock = client.lock("lock19:resource", timeout=5, blocking_timeout=0.2)
    assert isinstance(lock, Lock)
    assert lock.acquire()
    assert lock.owned() and lock.locked()
    owner = client.shard_for("lock19:resource")
    direct = shared_topology.redis_client(client.master_for_shard(owner), decode_responses=True)
    assert direct.get("lock19:resource") == lock.local.token.decode()
    other = client.lock("lock19:resource", blocking_timeout=0.2)
    assert other.acquire() is False
    assert lock.extend(5)
    lock.release()
    assert direct.exists("lock19:resource") == 0
    with client.lock("lock19:resource", timeout=2):
        assert client.exists("lock19:resource") == 1
    direct.close()


def test_locks_on_every_shard_share_the_loaded_scripts(client):
    names = [f"lock19:{i}" for i in range(12)]
    assert len({client.shard_for(n) for n in names}) == 3
    client.script_flush()
    for name in names:
        with client.lock(name, timeout=2):
            pass
    assert client.exists(*names) == 0


def test_transaction_retries_after_a_watch_error(client):
    client.set("{t19}balance", 10)
    runs = []

    def debit(pipe):
        balance = int(pipe.get("{t19}balance"))
        if not runs:
            client.incr("{t19}balance")  # another writer: the first EXEC fails, the callable runs again
        runs.append(balance)
        pipe.multi()
        pipe.set("{t19}balance", balance - 3)
        return balance

    assert client.transaction(debit, "{t19}balance") == [True]
    assert runs == [10, 11] and client.get("{t19}balance") == "8"
    assert client.transaction(debit, "{t19}balance", value_from_callable=True) == 8
    client.delete("{t19}balance")


def test_pipeline_methods_of_redis_py(client):
    with client.pipeline() as pipe:
        assert isinstance(pipe, redis.client.Pipeline) and isinstance(pipe, ShardedPipeline)
        assert pipe.watching is False
        pipe.watch("{p19}a")
        assert pipe.watching is True
        assert pipe.immediate_execute_command("GET", "{p19}a") is None
        pipe.multi()
        pipe.set("{p19}a", 1)
        assert pipe.execute() == [True]
        assert pipe.watching is False
    pipe = client.pipeline()
    pipe.set("{p19}a", 2)
    pipe.discard()
    with pytest.raises(redis.exceptions.ResponseError):
        pipe.execute()
    pipe.set("{p19}b", 1)
    assert len(pipe) == 1
    pipe.close()
    assert len(pipe) == 0
    assert client.get("{p19}a") == "1" and client.get("{p19}b") is None
    with pytest.raises(redis.exceptions.RedisError, match="nested"):
        pipe.multi()
        pipe.multi()
    pipe.reset()
    client.delete("{p19}a")


def test_from_url(shared_topology):
    app, sentinel = shared_topology.users["app"], shared_topology.sentinel_users["client"]
    hosts = ",".join(shared_topology.sentinel_addresses)
    url = (f"redis+sentinel://{app.username}:{urllib.parse.quote(app.password)}@{hosts}/0"
           f"?sentinel_username={sentinel.username}&sentinel_password={urllib.parse.quote(sentinel.password)}"
           "&decode_responses=yes&socket_timeout=2&failover_timeout=5")
    with ShardedSentinelClient.from_url(url) as c:
        assert c.shards == sorted(shared_topology.shard_names)
        assert c.set("url19", "v") and c.get("url19") == "v"
        assert c.get_connection_kwargs()["socket_timeout"] == 2.0
        c.delete("url19")
    with ShardedSentinelClient.from_url(url + "&service_names=shard2", decode_responses=False) as c:
        assert c.shards == ["shard2"] and c.echo("x") == b"x"


@pytest.mark.parametrize("url, message", [
    ("redis://127.0.0.1:6379/0", "redis\\+sentinel://"),
    ("redis+sentinel://127.0.0.1/0", "no port"),
    ("redis+sentinel://127.0.0.1:1/x", "database number"),
    ("redis+sentinel://127.0.0.1:1?nonsense=1", "unknown query argument 'nonsense'"),
    ("redis+sentinel://127.0.0.1:1?read_from_replicas=maybe", "read_from_replicas"),
])
def test_from_url_refuses_what_it_cannot_read(url, message):
    with pytest.raises(ValueError, match=message):
        ShardedSentinelClient.from_url(url)


def test_from_url_tls_scheme_sets_ssl():
    from shardinel.client_url import parse_client_url  # pylint: disable=import-outside-toplevel
    sentinels, kwargs = parse_client_url("rediss+sentinel://u:p%40ss@[::1]:26379,h:26380/2?ssl_ca_certs=/ca.crt")
    assert sentinels == ["[::1]:26379", "h:26380"]
    assert kwargs == {"ssl": True, "username": "u", "password": "p@ss", "db": 2, "ssl_ca_certs": "/ca.crt"}


def test_monitor_watches_one_shard(client):
    with pytest.raises(ValueError, match="name the shard"):
        client.monitor()
    shard = client.shard_for("mon19")
    with client.monitor(shard) as monitor:
        client.get("mon19")
        while True:
            seen = monitor.next_command()
            if "mon19" in seen["command"]:
                break
    assert seen["command"] == "GET mon19"


def test_connection_pools_per_shard(client):
    pools = client.connection_pool
    assert sorted(pools) == client.shards and len(pools) == 3
    for shard in client.shards:
        assert pools[shard] is client.shard_client(shard).connection_pool
        assert pools[shard].connection_kwargs["port"] == client.master_for_shard(shard)[1]
    assert "host" not in pools.connection_kwargs and pools.connection_kwargs["decode_responses"] is True
    assert pools.get_encoder().decode_responses is True
    with pytest.raises(ValueError, match="connection_pool\\[shard\\]"):
        pools.get_connection()
    pools.disconnect()
    assert client.ping() is True
    assert client.shard_client("shard1").info("server")["redis_version"]


def test_retry_and_response_callbacks_reach_every_shard(client):
    assert isinstance(client.get_retry(), Retry)
    retry = Retry(NoBackoff(), 1)
    client.set_retry(retry)
    assert client.get_retry() is retry
    assert all(client.shard_client(shard).get_retry() is retry for shard in client.shards)
    client.set_retry(Retry(NoBackoff(), 0))
    keys = [f"cb19:{i}" for i in range(12)]
    client.mset({k: "v" for k in keys})
    client.set_response_callback("GET", lambda response, **options: f"<{response}>")
    try:
        assert {client.get(k) for k in keys} == {"<v>"}
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            assert set(pipe.execute()) == {"<v>"}
        assert "GET" in client.response_callbacks
    finally:
        client.response_callbacks.pop("GET")
    assert client.get(keys[0]) == "v"
    client.delete(*keys)


def test_module_command_groups_route_by_key(client, tmp_path_factory):
    del tmp_path_factory
    json = client.json()
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
        json.set("j19", "$", {"a": 1})
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
        client.ts().create("ts19")
    assert callable(client.ft().search) and callable(client.bf().add)


def test_pubsub_run_in_thread_and_handlers(client):
    received = []
    done = threading.Event()

    def handler(message):
        received.append(message["data"])
        done.set()

    pubsub = client.pubsub()
    pubsub.subscribe(**{"thread19": handler})
    worker = pubsub.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        deadline = 0
        while client.publish("thread19", "m") < 1 and deadline < 50:
            deadline += 1
            threading.Event().wait(0.05)
        assert done.wait(3) and received[0] == "m"
    finally:
        worker.stop()
        worker.join(2)


def test_a_second_watch_on_another_shard_is_refused(client):
    other = next(f"w19:{i}" for i in range(1000) if client.shard_for(f"w19:{i}") != client.shard_for("{p19}a"))
    with client.pipeline() as pipe:
        pipe.watch("{p19}a")
        with pytest.raises(CrossShardError, match="WATCH"):
            pipe.execute_command("WATCH", other)
        assert pipe.execute_command("WATCH", "{p19}b") is True

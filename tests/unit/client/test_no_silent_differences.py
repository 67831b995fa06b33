"""Every command behaves as on one Redis server, or raises an error that names it and says why (issue 19).

Each test is one case that used to give a different answer without an error, on the shared 3-shard
topology (admin user, so that no ACL rule answers first) or on a one-shard topology.
"""

import threading
import time

import pytest
import redis

from shardinel import CrossShardError, KeylessCommandError, ShardedSentinelClient


@pytest.fixture(scope="module")
def client(shared_topology):
    admin = shared_topology.users["admin"]
    kwargs = dict(shared_topology.client_kwargs(), username=admin.username, password=admin.password)
    with ShardedSentinelClient(shared_topology.sentinel_addresses, decode_responses=True, **kwargs) as c:
        yield c


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    from redis_topology import RedisTopology  # pylint: disable=import-outside-toplevel
    topology = RedisTopology.start(tmp_path_factory.mktemp("one-shard"), shard_count=1)
    admin = topology.users["admin"]
    kwargs = dict(topology.client_kwargs(), username=admin.username, password=admin.password)
    try:
        with ShardedSentinelClient(topology.sentinel_addresses, decode_responses=True, **kwargs) as c:
            yield c
    finally:
        topology.stop()


def other_shard(client, key, prefix):
    return next(f"{prefix}{i}" for i in range(1000) if client.shard_for(f"{prefix}{i}") != client.shard_for(key))


def test_sort_by_and_get_patterns_without_the_lists_tag_are_refused(client):
    listed = other_shard(client, "{sd}", "sd:list")
    client.delete(listed)
    client.rpush(listed, 3, 1, 2)
    for arguments in ({"by": "sd:weight_*"}, {"get": "sd:object_*"}, {"by": "sd:{*}:w"}, {"get": ["#", "*->f"]}):
        with pytest.raises(CrossShardError, match="SORT BY/GET pattern") as raised:
            client.sort(listed, **arguments)
        assert "hash tag" in str(raised.value)
    with pytest.raises(CrossShardError, match="SORT keys span shards"):
        client.sort(listed, by="{sd}:w_*")  # the pattern's keys are all on the shard of {sd}, not the list's
    with pytest.raises(CrossShardError, match="SORT_RO BY/GET pattern"):
        client.execute_command("SORT_RO", listed, "BY", "sd:weight_*")
    client.delete(listed)


def test_sort_patterns_on_the_lists_shard_give_the_servers_answer(client):
    client.delete("{sd}:list")
    client.rpush("{sd}:list", 1, 2, 3)
    client.mset({"{sd}:weight_1": 30, "{sd}:weight_2": 10, "{sd}:weight_3": 20,
                 "{sd}:name_1": "one", "{sd}:name_2": "two", "{sd}:name_3": "three"})
    client.hset("{sd}:h_1", "n", "uno")
    assert client.sort("{sd}:list", by="{sd}:weight_*") == ["2", "3", "1"]
    assert client.sort("{sd}:list", by="{sd}:weight_*", get=["#", "{sd}:name_*", "{sd}:h_*->n"]) == [
        "2", "two", None, "3", "three", None, "1", "one", "uno"]
    assert client.sort("{sd}:list", by="nosort", get="#") == ["1", "2", "3"]
    assert client.sort("{sd}:list", by="{sd}:weight_*", store="{sd}:sorted") == 3
    assert client.lrange("{sd}:sorted", 0, -1) == ["2", "3", "1"]
    client.delete("{sd}:list", "{sd}:sorted", "{sd}:h_1", *[f"{{sd}}:{p}_{i}" for p in ("weight", "name") for i in (1, 2, 3)])


def test_sort_patterns_run_anywhere_on_one_shard(single):
    single.rpush("sd1:list", 1, 2)
    single.mset({"w_1": 2, "w_2": 1})
    assert single.sort("sd1:list", by="w_*") == ["2", "1"]
    single.delete("sd1:list", "w_1", "w_2")


def test_default_pipeline_is_one_transaction(client):
    client.delete("{tx19}a", "{tx19}b")
    with client.pipeline() as pipe:
        pipe.incr("{tx19}a").incr("{tx19}a")
        assert pipe.execute() == [1, 2]
    with client.pipeline() as pipe:
        pipe.set("{tx19}b", 1).execute_command("SET", "{tx19}a")
        with pytest.raises(redis.exceptions.ResponseError, match=r"^Command # 2 \(SET \{tx19\}a\) of pipeline caused error"):
            pipe.execute()
    assert client.get("{tx19}b") is None  # EXECABORT: nothing of the transaction ran
    client.delete("{tx19}a")


def test_default_pipeline_across_shards_says_transaction_false(client):
    other = other_shard(client, "{tx19}a", "tx19:")
    with client.pipeline() as pipe:
        pipe.set("{tx19}a", 1).set(other, 1)
        with pytest.raises(CrossShardError, match=r"transaction=False"):
            pipe.execute()
    assert client.exists("{tx19}a", other) == 0
    with client.pipeline(transaction=False) as pipe:
        assert pipe.set("{tx19}a", 1).set(other, 1).execute() == [True, True]
    client.delete("{tx19}a", other)


def test_keyless_commands_a_transaction_runs_on_its_own_shard(client):
    with client.pipeline() as pipe:
        pipe.set("{tx19}c", 1).ping().echo("x").time().get("{tx19}c")
        results = pipe.execute()
    assert results[:3] == [True, True, "x"] and results[4] == "1"
    with client.pipeline() as pipe:
        pipe.set("{tx19}c", 1).dbsize()
        with pytest.raises(KeylessCommandError, match="DBSIZE runs on every one of 3 shards"):
            pipe.execute()
    client.delete("{tx19}c")


def test_pipeline_errors_carry_redis_pys_prefix(client):
    other = other_shard(client, "pe19:s", "pe19:")
    client.set("pe19:s", "x")
    with client.pipeline(transaction=False) as pipe:
        pipe.set(other, 1).mget(["pe19:s", other]).lpush("pe19:s", 1)
        with pytest.raises(redis.exceptions.ResponseError, match=r"^Command # 3 \(LPUSH pe19:s 1\) of pipeline caused error: WRONGTYPE"):
            pipe.execute()
    client.delete("pe19:s", other)


@pytest.mark.parametrize("call, label, reason", [
    (lambda c: c.info(), "INFO", "one server's own state"),
    (lambda c: c.config_get("maxmemory"), "CONFIG GET", "one server's own state"),
    (lambda c: c.client_list(), "CLIENT LIST", "one server's own state"),
    (lambda c: c.slowlog_get(), "SLOWLOG GET", "one server's own state"),
    (lambda c: c.lastsave(), "LASTSAVE", "one server's own state"),
    (lambda c: c.pubsub_numpat(), "PUBSUB NUMPAT", "one server's own state"),
    (lambda c: c.execute_command("DEBUG", "OBJECT", "x"), "DEBUG", "one server's own state"),
    (lambda c: c.acl_setuser("someone"), "ACL SETUSER", "one server's own state"),
    (lambda c: c.client_setname("me"), "CLIENT SETNAME", "state of one connection"),
    (lambda c: c.select(1), "SELECT", "state of one connection"),
    (lambda c: c.eval("return redis.call('GET', 'x')", 0), "EVAL", "declares no keys"),
    (lambda c: c.fcall("f", 0), "FCALL", "declares no keys"),
])
def test_server_and_connection_state_is_refused_on_several_shards(client, call, label, reason):
    with pytest.raises(KeylessCommandError, match=reason) as raised:
        call(client)
    assert raised.value.command == label and "3 shards (shard1, shard2, shard3)" in str(raised.value)


def test_keyless_commands_any_server_answers(client):
    assert client.echo("hi") == "hi"
    seconds, _micros = client.time()
    assert abs(seconds - time.time()) < 5
    assert client.command_count() > 100
    assert client.command_getkeys("MSET", "a", 1, "b", 2) == ["a", "b"]
    assert client.acl_whoami() == "admin"
    assert "keyspace" in client.acl_cat()
    assert len(client.acl_genpass()) == 64
    assert "Redis ver." in client.lolwut()
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
        client.execute_command("NOSUCHCOMMAND", "x")
    single_server = client.shard_client("shard1").execute_command("PING", "hello")
    assert client.execute_command("PING", "hello") == single_server  # redis-py's callback compares with PONG
    assert client.ping() is True


def test_randomkey_draws_from_every_shard(shared_topology):
    admin = shared_topology.users["admin"]
    kwargs = dict(shared_topology.client_kwargs(), username=admin.username, password=admin.password)
    with ShardedSentinelClient(shared_topology.sentinel_addresses, decode_responses=True, db=7, **kwargs) as client:
        keys = [next(f"rk19:{i}" for i in range(1000) if client.shard_for(f"rk19:{i}") == shard) for shard in client.shards]
        assert client.dbsize() == 0, "database 7 is this test's own"
        assert client.randomkey() is None
        client.mset({key: 1 for key in keys})
        assert {client.randomkey() for _unused in range(60)} == set(keys)
        client.delete(*keys)


def test_nothing_keyless_is_refused_on_one_shard(single):
    assert single.info()["redis_version"]
    assert "maxmemory" in single.config_get("maxmemory")
    assert single.client_setname("conformance") is True
    assert isinstance(single.client_id(), int)
    assert single.eval("return redis.call('SET', 'k1', 'v')", 0) == "OK"
    assert single.get("k1") == "v"
    assert single.lastsave()
    assert single.slowlog_len() >= 0
    single.delete("k1")


def test_scripts_and_functions_are_loaded_on_every_shard(client):
    sha = client.script_load("return redis.call('INCR', KEYS[1])")
    keys = [f"sc19:{i}" for i in range(30)]
    assert len({client.shard_for(k) for k in keys}) == 3
    assert [client.evalsha(sha, 1, key) for key in keys] == [1] * 30
    assert client.script_exists(sha, "0" * 40) == [True, False]
    script = client.register_script("return redis.call('GET', KEYS[1])")
    assert [script(keys=[key]) for key in keys] == ["1"] * 30
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            script(keys=[key], client=pipe)
        assert pipe.execute() == ["1"] * 30
    library = "#!lua name=sd19\nredis.register_function('sd19get', function(keys) return redis.call('GET', keys[1]) end)"
    assert client.function_load(library, replace=True) == "sd19"
    assert [client.fcall("sd19get", 1, key) for key in keys] == ["1"] * 30
    assert client.function_delete("sd19")
    assert client.script_flush() is True
    assert client.script_exists(sha) == [False]
    client.delete(*keys)


def test_store_destinations_and_movable_keys_on_other_shards_are_refused(client):
    client.geoadd("{geo19}", (13.36, 38.11, "palermo"))
    other = other_shard(client, "{geo19}", "geo19:")
    with pytest.raises(CrossShardError, match="GEORADIUS"):
        client.georadius("{geo19}", 15, 37, 200, unit="km", store=other)
    with pytest.raises(CrossShardError, match="GEOSEARCHSTORE"):
        client.geosearchstore(other, "{geo19}", longitude=15, latitude=37, radius=200, unit="km")
    assert client.georadius("{geo19}", 15, 37, 200, unit="km", store="{geo19}:out") == 1
    assert client.object("encoding", "{geo19}") == "listpack"
    assert client.memory_usage("{geo19}") > 0
    client.delete("{geo19}", "{geo19}:out")


def test_publish_reaches_subscribers_on_every_shard(client):
    subscribers = [client.pubsub(ignore_subscribe_messages=True) for _unused in client.shards]
    assert {p.shard for p in subscribers} == set(client.shards)
    for pubsub in subscribers:
        pubsub.subscribe("news19")
        pubsub.get_message(timeout=1)
    assert client.publish("news19", "hello") == 3
    assert dict(client.pubsub_numsub("news19")) == {"news19": 3}
    assert "news19" in client.pubsub_channels()
    for pubsub in subscribers:
        message = pubsub.get_message(timeout=2)
        assert message is not None and message["data"] == "hello"
        pubsub.close()


def test_shard_channels_follow_their_owner(client):
    channels = [f"sch19:{i}" for i in range(12)]
    assert len({client.shard_for(c) for c in channels}) == 3
    pubsub = client.pubsub()
    pubsub.ssubscribe(*channels)
    confirmed = set()
    while len(confirmed) < len(channels):
        message = pubsub.get_sharded_message(timeout=2)
        assert message is not None and message["type"] == "ssubscribe"
        confirmed.add(message["channel"])
    for channel in channels:
        assert client.spublish(channel, channel) == 1
    received = set()
    while len(received) < len(channels):
        message = pubsub.get_sharded_message(timeout=2)
        assert message is not None and message["type"] == "smessage"
        received.add(message["data"])
    assert received == set(channels)
    pubsub.close()


def test_wait_counts_the_slowest_shard(client):
    client.set("w19", 1)
    assert client.wait(1, 1000) == 1


def test_blocking_pop_runs_on_the_keys_shard(client):
    client.delete("bp19")
    pusher = threading.Timer(0.3, lambda: client.rpush("bp19", "x"))
    pusher.start()
    assert list(client.blpop(["bp19"], timeout=3)) == ["bp19", "x"]
    pusher.join()


def test_migrate_of_keys_on_several_shards_is_refused(client):
    other = other_shard(client, "mg19:a", "mg19:")
    client.mset({"mg19:a": 1, other: 2})
    host, port = client.master_for_shard(client.shard_for(other))
    with pytest.raises(CrossShardError, match="MIGRATE"):
        client.migrate(host, port, ["mg19:a", other], 0, 1000)
    assert client.mget(["mg19:a", other]) == ["1", "2"]
    client.delete("mg19:a", other)

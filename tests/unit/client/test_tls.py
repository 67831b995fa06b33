"""The client on TLS-only Redis and Sentinel processes (plaintext ports closed): every connection must use TLS.

The client gets the TLS settings for Redis only; the Sentinels take them unless sentinel_kwargs sets its own.
"""

import uuid

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from failover_writer import tag_on
from redis_topology import RedisTopology, write_tls_files
from shardinel import NoSentinelAvailableError, ShardedSentinelClient


def tls_client(topology, **kwargs):
    return ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs(), **topology.tls_client_kwargs(),
                                 **kwargs)


def calls(topology, address, command):
    admin = topology.redis_client(address)
    try:
        return admin.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)
    finally:
        admin.close()


def replica_of(topology, master):
    shard = next(s for s in topology.shards if master in (s.master.address, s.replica.address))
    return shard.replica.address if master == shard.master.address else shard.master.address


def test_discovery_routing_and_fanouts_over_tls(tls_topology):
    topology = tls_topology
    with tls_client(topology, decode_responses=True) as client:
        assert client.shards == topology.shard_names
        for name in client.shards:
            assert client.master_for_shard(name) == topology.wait_for_master_agreement(name)
        prefix = uuid.uuid4().hex
        values = {f"{prefix}:{i}": str(i) for i in range(40)}
        assert {client.shard_for(key) for key in values} == set(client.shards)
        assert client.mset(values)
        assert client.mget(list(values)) == list(values.values())
        assert client.get(f"{prefix}:7") == "7"
        assert client.ping() is True
        assert client.dbsize() >= len(values)
        found, cursor = set(), 0
        while True:
            cursor, keys = client.scan(cursor, match=f"{prefix}:*")
            found.update(keys)
            if cursor == 0:
                break
        assert found == set(values)
        assert client.delete(*values) == len(values)


def test_replica_reads_over_tls(tls_topology):
    topology = tls_topology
    with tls_client(topology, read_from_replicas=True, decode_responses=True) as client:
        key = f"{uuid.uuid4().hex}:replica"
        client.set(key, "v")
        master = client.master_for_shard(client.shard_for(key))
        replica = replica_of(topology, master)
        admin = topology.redis_client(master)
        assert admin.wait(1, 2000) == 1
        admin.close()
        before = calls(topology, replica, "get")
        assert [client.get(key) for _unused in range(6)] == ["v"] * 6
        assert calls(topology, replica, "get") - before == 6
        client.delete(key)


def test_pipelines_and_transactions_over_tls(tls_topology):
    with tls_client(tls_topology, decode_responses=True) as client:
        prefix = uuid.uuid4().hex
        keys = [f"{prefix}:{i}" for i in range(20)]
        assert len({client.shard_for(key) for key in keys}) == 2
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, key)
        pipe.mget(keys)
        results = pipe.execute()
        assert results[:-1] == [True] * len(keys) and results[-1] == keys
        tag = f"{{{prefix}}}"
        with client.pipeline(transaction=True) as transaction:
            transaction.incr(f"{tag}:a").incr(f"{tag}:a").get(f"{tag}:a")
            assert transaction.execute() == [1, 2, "2"]
        client.delete(*keys, f"{tag}:a")


def test_durable_writes_over_tls(tls_topology):
    with tls_client(tls_topology, durable_writes=1, durable_timeout=2.0, socket_timeout=5) as client:
        prefix = uuid.uuid4().hex
        assert client.set(f"{prefix}:a", 1)
        pipe = client.pipeline(transaction=False)
        pipe.set(f"{prefix}:b", 2).set(f"{prefix}:c", 3)
        assert pipe.execute() == [True, True]
        assert client.delete(f"{prefix}:a", f"{prefix}:b", f"{prefix}:c") == 3


def test_forced_failover_is_followed_through_the_tls_event_subscription(tls_topology):
    topology = tls_topology
    with tls_client(topology) as client:
        assert client.wait_for_switch_listener(5)
        assert client.subscribed_sentinels == sorted(topology.sentinel_addresses)
        assert client.sentinels_without_failover_events == []
        shard = "shard1"
        key = f"{{{tag_on(client, shard, uuid.uuid4().hex)}}}:after"
        old = topology.force_failover(shard)
        new = topology.settle_after_failover(shard, old)
        # no command went through the client since: only the Sentinel events can have moved it
        assert client.master_for_shard(shard) == new != old
        assert client.set(key, "after") and client.get(key) == b"after"
        client.delete(key)
        topology.wait_until_sentinels_ready()


def test_plaintext_client_to_tls_ports_is_refused_with_a_clear_error(tls_topology):
    topology = tls_topology
    with pytest.raises(NoSentinelAvailableError) as refused:  # no credentials: nothing secret goes out in plaintext
        ShardedSentinelClient(topology.sentinel_addresses, follow_switch_events=False)
    assert "ssl=True" in str(refused.value) and refused.value.hint
    assert set(refused.value.addresses) == set(topology.sentinel_addresses)
    master = topology.wait_for_master_agreement("shard1")
    plain = redis.Redis(host=master[0], port=master[1], socket_timeout=2, socket_connect_timeout=2,
                        retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.ConnectionError):
        plain.ping()
    plain.close()


def test_sentinel_kwargs_override_the_redis_tls_settings(tls_topology, tmp_path):
    topology = tls_topology
    with pytest.raises(NoSentinelAvailableError) as plaintext:
        tls_client(topology, sentinel_kwargs={"ssl": False}, follow_switch_events=False)
    assert plaintext.value.hint
    other_ca = write_tls_files(tmp_path / "other-ca").ca
    with pytest.raises(NoSentinelAvailableError) as wrong_ca:
        tls_client(topology, sentinel_kwargs={"ssl_ca_certs": str(other_ca)}, follow_switch_events=False)
    assert "certificate verify failed" in str(wrong_ca.value) and wrong_ca.value.hint is None
    with tls_client(topology, sentinel_kwargs={"ssl_ca_certs": str(topology.tls.ca)}) as client:
        assert client.wait_for_switch_listener(5) and client.subscribed_sentinels


@pytest.mark.parametrize("kwargs, message", [
    ({"ssl_ca_certs": "/ca.pem"}, "redis_kwargs: ssl_ca_certs set but ssl is off"),
    ({"ssl": False, "ssl_certfile": "/c.pem", "ssl_keyfile": "/k.pem"}, "redis_kwargs: ssl_certfile, ssl_keyfile set but ssl is off"),
    ({"sentinel_kwargs": {"ssl_ca_certs": "/ca.pem"}}, "sentinel_kwargs: ssl_ca_certs set but ssl is off"),
    ({"ssl": True, "sentinel_kwargs": {"ssl": False, "ssl_ca_certs": "/ca.pem"}}, "sentinel_kwargs: ssl_ca_certs set"),
])
def test_ssl_settings_without_ssl_are_refused_before_connecting(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShardedSentinelClient(["127.0.0.1:1"], **kwargs)


def test_mutual_tls_needs_the_client_certificate(tmp_path):
    topology = RedisTopology.start(tmp_path / "mtls", shard_count=1, tls=True, tls_auth_clients="yes")
    try:
        with pytest.raises(NoSentinelAvailableError) as refused:
            tls_client(topology, follow_switch_events=False)
        # TLS 1.3 checks the client certificate after the handshake, so what the client reads depends on timing (the
        # "certificate required" alert, a reset, or a closed connection); every Sentinel must have refused it.
        assert all(address in str(refused.value) for address in topology.sentinel_addresses), str(refused.value)
        assert refused.value.hint is None
        master = topology.wait_for_master_agreement("shard1")
        no_cert = topology.redis_client(master, ssl_certfile=None, ssl_keyfile=None,
                                        retry=Retry(NoBackoff(), 0))
        with pytest.raises(redis.ConnectionError):
            no_cert.ping()
        no_cert.close()
        with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs(),
                                   **topology.tls_client_kwargs(client_cert=True)) as client:
            assert client.wait_for_switch_listener(5) and client.subscribed_sentinels
            assert client.set("mtls", "yes") and client.get("mtls") == b"yes"
    finally:
        topology.stop()

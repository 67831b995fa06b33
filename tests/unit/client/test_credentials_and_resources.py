"""ACL credentials, unreachable Sentinels, and close() releasing threads and sockets."""

import os
import secrets
import socket
import threading
import time

import pytest
import redis

from redis_topology import SENTINEL_CLIENT_CHANNEL_RULES, SENTINEL_CLIENT_CHANNELS, SENTINEL_USER_RULES
from shardinel import FAILOVER_CHANNELS, NoSentinelAvailableError, ShardedSentinelClient


def test_wrong_redis_password_fails_fast(shared_topology):
    kwargs = dict(shared_topology.client_kwargs(), password="wrong")
    with ShardedSentinelClient(shared_topology.sentinel_addresses, **kwargs) as client:
        started = time.monotonic()
        with pytest.raises(redis.exceptions.AuthenticationError):
            client.get("auth:key")
        assert time.monotonic() - started < 1


def test_wrong_sentinel_password_fails_fast(shared_topology):
    kwargs = dict(shared_topology.client_kwargs(), sentinel_password="wrong")
    started = time.monotonic()
    with pytest.raises(redis.exceptions.AuthenticationError):
        ShardedSentinelClient(shared_topology.sentinel_addresses, **kwargs)
    assert time.monotonic() - started < 1


def test_discovery_user_cannot_fail_over(shared_topology):
    client_user = shared_topology.sentinel_client(shared_topology.sentinels[0], role="client")
    with pytest.raises(redis.exceptions.NoPermissionError):
        client_user.sentinel_failover("shard1")
    client_user.close()


def test_discovery_user_may_subscribe_to_the_failover_channels_only(shared_topology):
    assert sorted(FAILOVER_CHANNELS) == sorted(SENTINEL_CLIENT_CHANNELS)
    client_user = shared_topology.sentinel_client(shared_topology.sentinels[0], role="client")
    pubsub = client_user.pubsub()
    pubsub.subscribe(*FAILOVER_CHANNELS)
    assert [pubsub.get_message(timeout=2)["type"] for _unused in FAILOVER_CHANNELS] == ["subscribe"] * len(FAILOVER_CHANNELS)
    pubsub.close()
    for channel in ("+sdown", "+odown", "__sentinel__:hello", "-failover-abort-not-elected"):
        pubsub = client_user.pubsub()
        with pytest.raises(redis.exceptions.NoPermissionError):
            pubsub.subscribe(channel)
            pubsub.get_message(timeout=2)
        pubsub.close()
    pubsub = client_user.pubsub()
    with pytest.raises(redis.exceptions.NoPermissionError):
        pubsub.psubscribe("*")
        pubsub.get_message(timeout=2)
    pubsub.close()
    client_user.close()


def test_sentinel_user_allowed_only_switch_master_is_still_followed(shared_topology):
    """Sentinels deployed with the older ACL (&+switch-master only): switches are followed, pauses are not possible."""
    rules = SENTINEL_USER_RULES["sentinel-client"].replace(SENTINEL_CLIENT_CHANNEL_RULES, "&+switch-master")
    password = secrets.token_hex(12)
    admins = [shared_topology.sentinel_client(s) for s in shared_topology.sentinels]
    try:
        for admin in admins:
            admin.execute_command("ACL", "SETUSER", "old-client", "reset", "on", f">{password}", *rules.split())
        kwargs = dict(shared_topology.client_kwargs(), sentinel_username="old-client", sentinel_password=password)
        with ShardedSentinelClient(shared_topology.sentinel_addresses, **kwargs) as client:
            assert client.wait_for_switch_listener(5)
            expected = sorted(shared_topology.sentinel_addresses)
            assert client.subscribed_sentinels == expected
            assert client.sentinels_without_failover_events == expected
            assert client.set("old-acl:key", 1) and client.get("old-acl:key") == b"1"
    finally:
        for admin in admins:
            admin.execute_command("ACL", "DELUSER", "old-client")
            admin.close()


def test_no_sentinel_reachable_lists_addresses():
    ports = []
    for _unused in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    addresses = [f"127.0.0.1:{p}" for p in ports]
    started = time.monotonic()
    with pytest.raises(NoSentinelAvailableError) as raised:
        ShardedSentinelClient(addresses, sentinel_socket_timeout=0.5)
    assert time.monotonic() - started < 2
    assert isinstance(raised.value, redis.exceptions.ConnectionError)
    assert all(a in str(raised.value) for a in addresses)


def _sockets():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                found.add(fd)
        except OSError:
            continue
    return found


def test_close_leaves_no_threads_or_sockets(shared_topology):
    threads_before, sockets_before = set(threading.enumerate()), _sockets()
    client = ShardedSentinelClient(shared_topology.sentinel_addresses, read_from_replicas=True, **shared_topology.client_kwargs())
    assert client.wait_for_switch_listener(5)
    client.mset({f"res:{i}": i for i in range(30)})
    client.mget([f"res:{i}" for i in range(30)])
    client.pipeline(transaction=False).get("res:1").get("res:2").get("res:3").execute()
    assert set(threading.enumerate()) - threads_before
    assert _sockets() - sockets_before
    client.close()
    assert set(threading.enumerate()) - threads_before == set()
    assert _sockets() - sockets_before == set()
    with pytest.raises(redis.exceptions.RedisError, match="closed"):
        client.get("res:1")

"""Bad arguments, credentials and unreachable Sentinels: the asyncio client raises what the sync client raises."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from async_writers import run
from shardinel import NoSentinelAvailableError, UnknownShardError
from shardinel import ShardedSentinelClient as SyncClient
from shardinel.asyncio import ShardedSentinelClient
from shardinel.asyncio import redis_import

SENTINELS = ["127.0.0.1:26379"]
BAD_ARGUMENTS = [
    ("127.0.0.1:26379", {}),
    ([], {}),
    (["nohost"], {}),
    (["[::1:26379"], {}),
    (["127.0.0.1:70000"], {}),
    (SENTINELS, {"service_names": "shard1"}),
    (SENTINELS, {"service_names": []}),
    (SENTINELS, {"service_names": ["shard1", ""]}),
    (SENTINELS, {"failover_timeout": 0}),
    (SENTINELS, {"failover_timeout": True}),
    (SENTINELS, {"sentinel_socket_timeout": "1"}),
    (SENTINELS, {"host": "10.0.0.1"}),
    (SENTINELS, {"connection_pool": object()}),
    (SENTINELS, {"single_connection_client": True}),
    (SENTINELS, {"durable_writes": -1}),
    (SENTINELS, {"durable_writes": 1.5}),
    (SENTINELS, {"durable_writes": True}),
    (SENTINELS, {"durable_timeout": 0}),
    (SENTINELS, {"durable_writes": 1, "durable_timeout": 1.0, "socket_timeout": 0.5}),
    (SENTINELS, {"ssl_ca_certs": "/etc/ca.crt"}),
    (SENTINELS, {"sentinel_kwargs": {"ssl_certfile": "client.crt"}}),
]


def _error(build):
    with pytest.raises(Exception) as raised:  # noqa: B017  - compared below, type and text
        build()
    return type(raised.value), str(raised.value)


@pytest.mark.parametrize("sentinels,kwargs", BAD_ARGUMENTS)
def test_bad_arguments_raise_the_sync_clients_error_before_any_connection(sentinels, kwargs):
    sync_error = _error(lambda: SyncClient(sentinels, **kwargs))
    assert sync_error[0] is ValueError
    assert _error(lambda: ShardedSentinelClient(sentinels, **kwargs)) == sync_error


@pytest.mark.parametrize("url", ["redis://10.0.0.1:6379", "redis+sentinel://10.0.0.1:26379?bogus=1",
                                 "redis+sentinel://10.0.0.1:26379/x", "redis+sentinel://10.0.0.1:26379?durable_writes=a"])
def test_bad_urls_raise_the_sync_clients_error(url):
    sync_error = _error(lambda: SyncClient.from_url(url))
    assert sync_error[0] is ValueError
    assert _error(lambda: ShardedSentinelClient.from_url(url)) == sync_error


def test_an_older_redis_py_is_named_in_an_import_error(monkeypatch):
    monkeypatch.setattr(redis_import, "REDIS_VERSION", "4.3.4")
    with pytest.raises(ImportError, match=r"needs redis-py 5\.0\.1 or later .* this is redis-py 4\.3\.4"):
        ShardedSentinelClient(SENTINELS)
    monkeypatch.setattr(redis_import, "REDIS_VERSION", "5.0.1rc1")
    assert redis_import.missing_reason() is None


def test_unreachable_sentinels_and_unknown_shards(shared_topology):
    ports = []
    for _unused in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    addresses = [f"127.0.0.1:{port}" for port in ports]

    async def main():
        started = time.monotonic()
        with pytest.raises(NoSentinelAvailableError) as raised:
            await ShardedSentinelClient(addresses, sentinel_socket_timeout=0.5).initialize()
        assert time.monotonic() - started < 2
        assert all(address in str(raised.value) for address in addresses)
        with pytest.raises(UnknownShardError, match="nowhere"):
            await ShardedSentinelClient(shared_topology.sentinel_addresses, service_names=["nowhere"],
                                        **shared_topology.client_kwargs())
        wrong_sentinel = dict(shared_topology.client_kwargs(), sentinel_password="wrong")
        started = time.monotonic()
        with pytest.raises(redis.AuthenticationError):
            await ShardedSentinelClient(shared_topology.sentinel_addresses, **wrong_sentinel).initialize()
        wrong_redis = dict(shared_topology.client_kwargs(), password="wrong")
        async with ShardedSentinelClient(shared_topology.sentinel_addresses, **wrong_redis) as client:
            with pytest.raises(redis.AuthenticationError):
                await client.get("auth:key")
        assert time.monotonic() - started < 2

    run(main())

"""Django's async cache and session API under ASGI: served by the running event loop's shardinel.asyncio client,
not by the sync client in sync_to_async threads."""

from __future__ import annotations

import asyncio

import pytest
from django.test import AsyncClient

from shardinel.asyncio import ShardedSentinelClient as AsyncShardedSentinelClient
from shardinel_django import connections
from shardinel_django.connections import ClientHandle, CredentialsRejectedError, aclose_loop_clients
from shardinel_django.sessions import SessionStore


def _no_sync_client(self):
    raise AssertionError(f"the sync client was used for {self.settings.where or 'the sessions'}")


def test_async_methods_use_the_event_loops_asyncio_client_and_no_thread(make_cache, sessions_on, monkeypatch):
    del sessions_on
    cache = make_cache()
    keys = [f"k{i}" for i in range(40)]

    async def scenario():
        monkeypatch.setattr(ClientHandle, "get", _no_sync_client)
        await cache.aset("k", "v")
        assert await cache.aget("k") == "v" and await cache.aget("nope", "d") == "d"
        assert await cache.aadd("k", "w") is False and await cache.aadd("new", 1, timeout=0) is True
        assert await cache.ahas_key("k") and await cache.atouch("k", 10) and await cache.atouch("k", None)
        await cache.aset_many(dict.fromkeys(keys, 1), timeout=30)
        assert await cache.aget_many(keys) == dict.fromkeys(keys, 1)
        await cache.adelete_many(keys[:20])
        assert await cache.aget_many(keys) == dict.fromkeys(keys[20:], 1)
        assert await cache.aget_or_set("g", "x") == "x" and await cache.aincr_version("g") == 2
        await cache.aset("n", 1)
        assert await cache.aincr("n", 4) == 5 and await cache.adecr("n") == 4
        with pytest.raises(ValueError, match="not found"):
            await cache.aincr("missing")
        assert await cache.aclear() is True and await cache.aget_many(keys) == {}

        store = SessionStore()
        await store.aset("a", 1)
        await store.asave()
        key = store.session_key
        assert await store.aexists(key) and (await SessionStore(key).aget("a")) == 1
        await store.acycle_key()
        assert store.session_key != key and not await store.aexists(key)
        assert await SessionStore(store.session_key).aget("a") == 1
        await store.adelete()
        assert not await store.aexists(store.session_key)

        clients = connections._loop_clients[asyncio.get_running_loop()]  # pylint: disable=protected-access
        assert clients and all(isinstance(client, AsyncShardedSentinelClient) for client in clients.values())
        assert await cache._handle.aget() is await cache._handle.aget()  # pylint: disable=protected-access
        await aclose_loop_clients()

    asyncio.run(scenario())


def test_an_async_view_under_asgi_reads_and_writes_through_the_asyncio_client(make_cache, sessions_on):
    """Django's ASGI handler (AsyncClient) runs the async view on this loop; its session reads and cache writes go
    through the loop's asyncio client (SessionMiddleware, a sync middleware, saves the session in Django's thread)."""
    del sessions_on
    make_cache("shardinel")

    async def scenario():
        browser = AsyncClient()
        answers = [(await browser.get("/async-visit/")).json() for _unused in range(3)]
        assert [answer["visits"] for answer in answers] == [1, 2, 3]
        assert [answer["hits"] for answer in answers] == [1, 2, 3]
        assert connections._loop_clients.get(asyncio.get_running_loop())  # pylint: disable=protected-access
        await aclose_loop_clients()

    asyncio.run(scenario())


def test_wrong_passwords_name_the_settings_from_the_async_api(make_cache, django_topology):
    cache = make_cache(OPTIONS={"SENTINEL_PASSWORD": "wrong"})
    wrong_redis = make_cache("other", OPTIONS={"PASSWORD": "wrong"})

    async def scenario():
        with pytest.raises(CredentialsRejectedError, match="SENTINEL_PASSWORD"):
            await cache.aget("k")
        with pytest.raises(CredentialsRejectedError, match=r"\['PASSWORD'\]"):
            await wrong_redis.aset("k", 1)
        await aclose_loop_clients()

    asyncio.run(scenario())
    del django_topology

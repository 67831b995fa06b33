"""The session engine: real views with login and logout through Django's test client, TTLs, SET NX, deletes."""

from __future__ import annotations

import asyncio
import datetime
import threading

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from shardinel_django.sessions import SessionStore, session_handle
from shardinel_test_site import TEST_PASSWORD, TEST_USERNAME


def redis_key(session_key):
    return f"{settings.SESSION_REDIS_PREFIX}:{session_key}"


def raw(store):
    del store
    return session_handle().get()


def log_in(client):
    response = client.post("/login/", {"username": TEST_USERNAME, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.content
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_login_visit_logout_through_views(sessions_on):
    del sessions_on
    browser = Client()
    assert browser.post("/login/", {"username": TEST_USERNAME, "password": "wrong"}).status_code == 403
    anonymous = browser.get("/visit/").json()
    assert anonymous == {"user": None, "visits": 1}
    anonymous_key = browser.cookies[settings.SESSION_COOKIE_NAME].value

    session_key = log_in(browser)
    store = SessionStore()
    assert session_key != anonymous_key
    assert not raw(store).exists(redis_key(anonymous_key)), "login cycles the key: the old session is deleted"
    assert raw(store).exists(redis_key(session_key))
    assert 0 < raw(store).ttl(redis_key(session_key)) <= settings.SESSION_COOKIE_AGE
    assert browser.get("/visit/").json() == {"user": TEST_USERNAME, "visits": 2}
    assert browser.get("/visit/").json() == {"user": TEST_USERNAME, "visits": 3}

    assert browser.post("/logout/").status_code == 200
    assert not raw(store).exists(redis_key(session_key)), "logout deletes the session"
    assert browser.get("/visit/").json() == {"user": None, "visits": 1}


def test_a_stolen_cookie_is_useless_after_logout(sessions_on):
    del sessions_on
    browser, thief = Client(), Client()
    session_key = log_in(browser)
    thief.cookies[settings.SESSION_COOKIE_NAME] = session_key
    assert thief.get("/visit/").json()["user"] == TEST_USERNAME
    browser.post("/logout/")
    assert thief.get("/visit/").json()["user"] is None


def test_expiry_is_the_redis_ttl(sessions_on):
    del sessions_on
    with override_settings(SESSION_COOKIE_AGE=100):
        store = SessionStore()
        store["a"] = 1
        store.save()
        key = redis_key(store.session_key)
        assert 0 < raw(store).ttl(key) <= 100
        store.set_expiry(30)
        store.save()
        assert 0 < raw(store).ttl(key) <= 30
        store.set_expiry(0)
        store.save()
        assert 30 < raw(store).ttl(key) <= 100
        store.set_expiry(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=50))
        store.save()
        assert 30 < raw(store).ttl(key) <= 50
        store.set_expiry(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5))
        store.save()
        assert not raw(store).exists(key)


def test_create_never_overwrites_an_existing_session(sessions_on, monkeypatch):
    del sessions_on
    first = SessionStore()
    first["owner"] = "first"
    first.create()
    taken = first.session_key

    intruder = SessionStore(taken)
    intruder["owner"] = "intruder"
    with pytest.raises(CreateError):
        intruder.save(must_create=True)
    assert SessionStore(taken)["owner"] == "first"

    candidates = iter([taken, "b" * 32])
    second = SessionStore()
    monkeypatch.setattr(second, "_get_new_session_key", lambda: next(candidates))
    second["owner"] = "second"
    second.create()
    assert second.session_key == "b" * 32
    assert SessionStore(taken)["owner"] == "first"
    second.delete()


def test_saving_a_session_deleted_elsewhere_raises_update_error(sessions_on):
    del sessions_on
    store = SessionStore()
    store["a"] = 1
    store.create()
    SessionStore().delete(store.session_key)
    store["a"] = 2
    with pytest.raises(UpdateError):
        store.save()
    assert not store.exists(store.session_key)


def test_load_exists_delete(sessions_on):
    del sessions_on
    store = SessionStore()
    store["cart"] = [1, 2]
    store.save()
    key = store.session_key
    assert store.exists(key) and not store.exists("x" * 32) and not store.exists(None)
    assert SessionStore(key).load() == {"cart": [1, 2]}
    store.delete()
    assert not store.exists(key)
    unknown = SessionStore("y" * 32)
    assert unknown.load() == {} and unknown.session_key is None
    SessionStore().delete()


def test_clear_expired_is_a_no_op(sessions_on):
    del sessions_on
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert SessionStore.clear_expired() is None
    assert asyncio.run(SessionStore.aclear_expired()) is None
    assert store.exists(store.session_key)
    store.delete()


def test_async_session_methods(sessions_on):
    del sessions_on

    async def scenario():
        store = SessionStore()
        await store.aset("a", 1)
        await store.asave()
        key = store.session_key
        assert await store.aexists(key)
        again = SessionStore(key)
        assert await again.aget("a") == 1
        await again.adelete()
        assert not await store.aexists(key)
    asyncio.run(scenario())


def test_disredis_settings_prefix_and_db(sessions_on, django_topology):
    del sessions_on
    with override_settings(SESSION_REDIS_DB=6, SESSION_REDIS_PREFIX="disredis-style", SESSION_REDIS_HOST="ignored"):
        store = SessionStore()
        store["a"] = 1
        store.save()
        key = f"disredis-style:{store.session_key}"
        client = raw(store)
        master = client.master_for_shard(client.shard_for(key))
        in_db6 = django_topology.redis_client(master, db=6)
        in_db0 = django_topology.redis_client(master)
        assert in_db6.exists(key) and not in_db0.exists(key)
        in_db6.close()
        in_db0.close()
        store.delete()


def test_without_prefix_the_key_is_the_session_key(sessions_on):
    del sessions_on
    with override_settings(SESSION_REDIS_PREFIX=""):
        store = SessionStore()
        store["a"] = 1
        store.save()
        assert raw(store).exists(store.session_key)
        store.delete()


def test_session_options_and_conflicts(sessions_on, django_topology):
    del sessions_on
    with override_settings(SHARDINEL_SESSION_OPTIONS={"SOCKET_TIMEOUT": 3, "SERVICE_NAMES": django_topology.shard_names}):
        store = SessionStore()
        store["a"] = 1
        store.save()
        assert sorted(raw(store).shards) == sorted(django_topology.shard_names)
        store.delete()
    with override_settings(SHARDINEL_SESSION_OPTIONS={"USERNAME": "someone"}):
        with pytest.raises(ImproperlyConfigured, match=r"SHARDINEL_SESSION_OPTIONS\['USERNAME'\] and SHARDINEL_SESSION_USERNAME"):
            SessionStore()


def test_every_session_store_of_the_process_shares_one_client(sessions_on):
    del sessions_on
    first = raw(SessionStore())
    from_threads = []
    workers = [threading.Thread(target=lambda: from_threads.append(raw(SessionStore()))) for _worker in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert from_threads == [first] * 3 and all(client is first for client in from_threads)

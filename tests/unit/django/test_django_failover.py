"""Forced SENTINEL FAILOVER of every shard while logged-in browsers keep reading and writing their sessions,
and IGNORE_EXCEPTIONS while a shard's master is gone."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings

from shardinel import ShardUnavailableError
from shardinel_django.connections import close_all
from shardinel_django.sessions import session_handle
from shardinel_test_config import cache_entry, session_settings
from shardinel_test_site import TEST_PASSWORD, TEST_USERNAME

SESSIONS_PER_SHARD = 2
ROUNDS_AFTER_SWITCH = 5


@dataclass
class Browser:
    client: Client
    shard: str
    visits: int = 0
    last_ok: bool = True


@dataclass
class Tally:
    before_switch: list[str] = field(default_factory=list)
    after_switch: list[str] = field(default_factory=list)
    requests: int = 0


def log_in_browsers(client, shards):
    """Log browsers in until every shard holds SESSIONS_PER_SHARD sessions."""
    browsers: list[Browser] = []
    while any(sum(b.shard == s for b in browsers) < SESSIONS_PER_SHARD for s in shards):
        browser = Client()
        response = browser.post("/login/", {"username": TEST_USERNAME, "password": TEST_PASSWORD})
        assert response.status_code == 200
        session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
        shard = client.shard_for(f"{settings.SESSION_REDIS_PREFIX}:{session_key}")
        if sum(b.shard == shard for b in browsers) < SESSIONS_PER_SHARD:
            browsers.append(Browser(browser, shard))
    return browsers


def visit_all(browsers, failures, tally):
    """One /visit/ per browser; a failure is an exception, a non-200 answer, a lost login or a lost count."""
    for browser in browsers:
        tally.requests += 1
        try:
            response = browser.client.get("/visit/")
        except (redis.RedisError, OSError) as exc:
            failures.append(f"{browser.shard}: {type(exc).__name__}: {exc}")
            browser.last_ok = False
            continue
        problem = None
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}"
        else:
            body = response.json()
            if body["user"] != TEST_USERNAME:
                problem = f"session lost: logged out ({body})"
            elif body["visits"] <= browser.visits or (browser.last_ok and body["visits"] != browser.visits + 1):
                problem = f"session lost: visits {body['visits']} after {browser.visits}"
            else:
                browser.visits = body["visits"]
        browser.last_ok = problem is None
        if problem is not None:
            failures.append(f"{browser.shard}: {problem}")


def settle_in_background(topology, shard, old):
    """A started thread running settle_after_failover, and the dict that gets its "new" master or its "error"."""
    settled = {}

    def settle():
        try:
            settled["new"] = topology.settle_after_failover(shard, old)
        except (TimeoutError, redis.RedisError) as exc:
            settled["error"] = exc
    waiter = threading.Thread(target=settle)
    waiter.start()
    return waiter, settled


def test_sessions_survive_a_forced_failover_of_every_shard(topology_factory, django_db):
    del django_db
    topology = topology_factory(3)
    try:
        with override_settings(**session_settings(topology, SHARDINEL_SESSION_OPTIONS={"SOCKET_TIMEOUT": 2})):
            client = session_handle().get()
            assert client.wait_for_switch_listener(5)
            browsers = log_in_browsers(client, topology.shard_names)
            tally = Tally()
            for shard in topology.shard_names:
                old = topology.force_failover(shard)
                waiter, settled = settle_in_background(topology, shard, old)
                while waiter.is_alive():
                    visit_all(browsers, tally.before_switch, tally)
                waiter.join()
                assert "error" not in settled, settled.get("error")
                for _round in range(ROUNDS_AFTER_SWITCH):
                    visit_all(browsers, tally.after_switch, tally)
                assert client.master_for_shard(shard) == settled["new"] != old
            print(f"\n{tally.requests} requests over 3 failovers; failed before the switch completed: "
                  f"{len(tally.before_switch)} {tally.before_switch[:5]}")
            assert tally.after_switch == []
            assert tally.before_switch == []
            for browser in browsers:
                assert browser.client.get("/visit/").json() == {"user": TEST_USERNAME, "visits": browser.visits + 1}
    finally:
        close_all()


def test_ignore_exceptions_returns_the_default_while_a_master_is_gone(fresh_topology, caplog):
    topology = fresh_topology
    options = {"FAILOVER_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 2, "DURABLE_WRITES": 1, "DURABLE_TIMEOUT": 1}
    quiet = cache_entry(topology, OPTIONS={**options, "IGNORE_EXCEPTIONS": True})
    strict = cache_entry(topology, OPTIONS=options)
    try:
        with override_settings(CACHES={"default": quiet, "strict": strict}):
            cache, strict_cache = caches["default"], caches["strict"]
            assert cache.client is strict_cache.client
            assert cache.client.wait_for_switch_listener(5)
            # The two caches have different KEY_PREFIXes: the key must live on shard1 for both.
            key = next(f"k{i}" for i in range(200) if {cache.client.shard_for(c.make_key(f"k{i}")) for c in (cache, strict_cache)} == {"shard1"})
            cache.set(key, "kept", timeout=None)
            strict_cache.set(key, "kept", timeout=None)
            old = cache.client.master_for_shard("shard1")
            topology.process_at(old).kill(signal.SIGKILL)
            with caplog.at_level(logging.WARNING, logger="shardinel_django"):
                assert cache.get(key, "default") == "default"
            assert "IGNORE_EXCEPTIONS" in caplog.text and "shard1" in caplog.text
            with pytest.raises(ShardUnavailableError):
                strict_cache.get(key)
            topology.wait_for_master_agreement("shard1", not_address=old)
            assert cache.get(key) == "kept" and strict_cache.get(key) == "kept"
    finally:
        close_all()

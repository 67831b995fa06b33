"""pytest plugin for redis-py's own test suite: its client fixtures return a ShardedSentinelClient.

Loaded by run_conformance.py (``-p conformance_plugin``) with SHARDINEL_CONFORMANCE naming a JSON file:
{"sentinels": [...], "client_kwargs": {...}, "outcomes": "<file to write>", "client": "shardinel" | "redis"}.
redis-py's fixtures (r, decoded_r, r2, r_timeout, ...) and the tests that call its conftest's
``_get_client`` directly all go through that one function, which is replaced here before the test
modules import it. ``"client": "redis"`` keeps redis-py's own (the reference run on one server).
Every test's outcome (passed, failed, error, skipped) is written to the outcomes file at the end.
"""

from __future__ import annotations

import json
import os
import sys
import tracemalloc
from typing import Any

import pytest
import redis

from shardinel import ShardedSentinelClient

SETTINGS: dict[str, Any] = {}
OUTCOMES: dict[str, str] = {}
DETAILS: dict[str, str] = {}


def _shardinel_get_client(original: Any) -> Any:
    def get_client(cls: Any, request: Any, single_connection_client: bool = True, flushdb: bool = True,
                   from_url: Any = None, **kwargs: Any) -> Any:
        if cls is not redis.Redis or from_url is not None or kwargs.get("ssl"):
            return original(cls, request, single_connection_client, flushdb, from_url, **kwargs)
        del single_connection_client
        kwargs.pop("ssl", None)
        client = ShardedSentinelClient(SETTINGS["sentinels"], **dict(SETTINGS["client_kwargs"], **kwargs))
        if request:
            def teardown() -> None:
                # redis-py's fixtures close the client before this runs ("with client:"), and a closed
                # ShardedSentinelClient stays closed: flush with the session's own client.
                client.close()
                if flushdb:
                    _session_client().flushdb()
            request.addfinalizer(teardown)
        return client
    return get_client


def _session_client() -> ShardedSentinelClient:
    if "session_client" not in SETTINGS:
        SETTINGS["session_client"] = ShardedSentinelClient(SETTINGS["sentinels"], **SETTINGS["client_kwargs"])
    return SETTINGS["session_client"]


def pytest_configure(config: pytest.Config) -> None:
    with open(os.environ["SHARDINEL_CONFORMANCE"], encoding="utf-8") as handle:
        SETTINGS.update(json.load(handle))
    # redis-py's conftest traces every allocation for its own leak hunting; that tripled this run's time.
    tracemalloc.start = lambda *args: None
    config.addinivalue_line("markers", "onlycluster: redis-py: cluster only")
    for marker in ("onlynoncluster", "redismod", "ssl", "replica", "experimental", "fixed_client", "pipeline",
                   "cp_integration", "no_mock_connections", "multidb_integration"):
        config.addinivalue_line("markers", f"{marker}: redis-py marker")
    if SETTINGS.get("client", "shardinel") == "shardinel":
        conftest = sys.modules.get("tests.conftest")
        if conftest is None:
            raise pytest.UsageError("redis-py's tests/conftest.py was not loaded before the conformance plugin")
        conftest._get_client = _shardinel_get_client(conftest._get_client)  # pylint: disable=protected-access


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    yield
    if call.excinfo is not None and item.nodeid not in DETAILS and not call.excinfo.errisinstance(pytest.skip.Exception):
        message = str(call.excinfo.value).strip().splitlines()
        DETAILS[item.nodeid] = f"{call.excinfo.typename}: {message[0] if message else ''}"[:300]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        if report.outcome == "failed":
            outcome = "failed" if report.when == "call" else "error"
        else:
            outcome = report.outcome
        if OUTCOMES.get(report.nodeid) in ("failed", "error"):
            return
        if report.when == "teardown" and outcome == "error" and OUTCOMES.get(report.nodeid) == "skipped":
            return
        OUTCOMES[report.nodeid] = outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    del session
    if "session_client" in SETTINGS:
        SETTINGS.pop("session_client").close()
    with open(SETTINGS["outcomes"], "w", encoding="utf-8") as handle:
        json.dump({"outcomes": OUTCOMES, "details": DETAILS}, handle, indent=1, sort_keys=True)

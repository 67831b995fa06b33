"""Fixtures with real redis-server and redis-sentinel processes on 127.0.0.1 (see redis_topology.py).

- ``shared_topology`` (session scope): 3 shards (shard1..shard3, each master + replica) and
  3 Sentinels. For tests that do not change topology: write only keys with a unique prefix,
  never FLUSH, never kill, never fail over.
- ``fresh_topology`` (function scope): 2 shards and 3 Sentinels started for one test, for
  failovers, SIGKILL and restarts. Starting one takes about 2-3 s.
- ``topology_factory`` (function scope): ``topology_factory(shard_count)`` starts more
  topologies inside one test; all are stopped at teardown.

A topology exposes ``sentinel_addresses`` ("127.0.0.1:port" strings), ``users`` (Redis ACL users
"admin", "replication", "sentinel", "app" with ``.username``/``.password``; app has +@transaction), ``sentinel_users``
("admin" = sentinel-admin, "client" = discovery-only sentinel-client, which may SUBSCRIBE to
redis_topology.SENTINEL_CLIENT_CHANNELS only), ``shards`` (``.name``,
``.master``/``.replica`` processes with ``.host``, ``.port``, ``.address``), ``shard(name)``,
``client_kwargs()`` (app + sentinel-client credentials for ShardedSentinelClient), ``redis_client(address)``,
``sentinel_client(process)``, ``force_failover(name)``, ``wait_for_master_agreement(name, not_address)``,
``settle_after_failover(name, old)``, ``wait_for_role(address, role)``, ``process_at(address)``,
``restart(process)``, and ``Process.kill(sig)``. Import helpers with ``from redis_topology import ...``
(tests/unit is on the pytest pythonpath through this conftest).

- ``tls_topology`` (session scope): 2 shards and 3 Sentinels on TLS only (``tls=True``: plaintext ports
  closed, ``tls-auth-clients optional``); ``tls_topology.tls_client_kwargs()`` are the redis-py settings
  for it. Tests that fail over on it must not assume where the masters are.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redis_topology import RedisTopology  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def shared_topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTopology]:
    topology = RedisTopology.start(tmp_path_factory.mktemp("shared-topology"), shard_count=3)
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture(scope="session")
def tls_topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTopology]:
    topology = RedisTopology.start(tmp_path_factory.mktemp("tls-topology"), shard_count=2, tls=True)
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture()
def fresh_topology(tmp_path: Path) -> Iterator[RedisTopology]:
    topology = RedisTopology.start(tmp_path / "topology", shard_count=2)
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture()
def topology_factory(tmp_path: Path) -> Iterator[Callable[[int], RedisTopology]]:
    started: list[RedisTopology] = []

    def start(shard_count: int = 2) -> RedisTopology:
        topology = RedisTopology.start(tmp_path / f"topology{len(started)}", shard_count=shard_count)
        started.append(topology)
        return topology

    try:
        yield start
    finally:
        for topology in started:
            topology.stop()

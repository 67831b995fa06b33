"""Django cache speed: ShardedSentinelCache on 3 shards vs Django's built-in RedisCache on one master, in one run.

Run: cd /work/main && .venv/bin/python benchmarks/django_benchmark.py
Starts its own servers (3 shards with replicas, 3 Sentinels, ACL users) on 127.0.0.1 and prints a table:
cache.get / cache.set ops/s (best of 5 rounds x 5,000 keys, ratio target >= 0.9) and get_many / set_many of
1,000 keys (median of 15, ratio target <= 1.3). The built-in backend talks to shard1's master as the app user.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit")]

import django
from django.conf import settings
from django.core.cache import caches

from figures import print_table, row
from redis_topology import RedisTopology
from shardinel_django.connections import close_all


def configure(topology: RedisTopology) -> None:
    app, client = topology.users["app"], topology.sentinel_users["client"]
    master = topology.shard("shard1").master
    settings.configure(CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shardinel": {
            "BACKEND": "shardinel_django.cache.ShardedSentinelCache",
            "LOCATION": topology.sentinel_addresses,
            "KEY_PREFIX": "bench",
            "OPTIONS": {"USERNAME": app.username, "PASSWORD": app.password, "SENTINEL_USERNAME": client.username,
                        "SENTINEL_PASSWORD": client.password, "SOCKET_TIMEOUT": 5},
        },
        "builtin": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{app.username}:{app.password}@{master.host}:{master.port}/0",
            "KEY_PREFIX": "bench",
            "OPTIONS": {"socket_timeout": 5},
        },
    })
    django.setup()


def best_rate(call: Callable[[str], Any], keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        call(key)
    return len(keys) / (time.perf_counter() - started)


def single_key(ours: Any, builtin: Any) -> None:
    keys = [f"single:{i}" for i in range(5000)]
    value = {"user": 42, "name": "x" * 40}
    for label, make in (("set", lambda cache: (lambda key: cache.set(key, value))),
                        ("get", lambda cache: cache.get)):
        ours_rates, builtin_rates = [], []
        for _round in range(5):
            ours_rates.append(best_rate(make(ours), keys))
            builtin_rates.append(best_rate(make(builtin), keys))
        a, b = max(ours_rates), max(builtin_rates)
        row(f"cache.{label} ops/s", f"{a:,.0f}", f"{b:,.0f}", f"{a / b:.3f}", ">= 0.9")


def many_keys(ours: Any, builtin: Any, shards: int) -> None:
    keys = [f"many:{i}" for i in range(1000)]
    data = {key: {"n": i, "pad": "y" * 24} for i, key in enumerate(keys)}
    for label, run in (("set_many", lambda cache: cache.set_many(data, timeout=300)),
                       ("get_many", lambda cache: cache.get_many(keys))):
        ours_times, builtin_times = [], []
        for _round in range(15):
            started = time.perf_counter()
            run(ours)
            ours_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            run(builtin)
            builtin_times.append(time.perf_counter() - started)
        a, b = statistics.median(ours_times), statistics.median(builtin_times)
        target = "<= 1.3" if label == "get_many" else "(information)"
        row(f"{label} 1,000 keys ({shards} shards vs 1 server)", f"{a * 1000:.2f} ms", f"{b * 1000:.2f} ms",
            f"{a / b:.2f}x", target)
    assert ours.get_many(keys) == builtin.get_many(keys) == data


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shardinel-django-bench-") as directory:
        topology = RedisTopology.start(Path(directory), shard_count=3)
        try:
            configure(topology)
            ours, builtin = caches["shardinel"], caches["builtin"]
            ours.set("warm", 1)
            builtin.set("warm", 1)
            try:
                single_key(ours, builtin)
                many_keys(ours, builtin, len(ours.client.shards))
            finally:
                close_all()
        finally:
            topology.stop()
    print_table("ShardedSentinelCache", "Django RedisCache, one master")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Settings that point the cache backend and the session engine at a test topology."""

from __future__ import annotations

import uuid
from typing import Any

from redis_topology import RedisTopology


def cache_entry(topology: RedisTopology, **overrides: Any) -> dict[str, Any]:
    """A CACHES entry for ShardedSentinelCache on the topology, with the app and discovery users, a unique KEY_PREFIX."""
    credentials = topology.client_kwargs()
    entry: dict[str, Any] = {
        "BACKEND": "shardinel_django.cache.ShardedSentinelCache",
        "LOCATION": topology.sentinel_addresses,
        "KEY_PREFIX": f"t{uuid.uuid4().hex[:10]}",
        "OPTIONS": {
            "USERNAME": credentials["username"], "PASSWORD": credentials["password"],
            "SENTINEL_USERNAME": credentials["sentinel_username"], "SENTINEL_PASSWORD": credentials["sentinel_password"],
            "SOCKET_TIMEOUT": 5,
        },
    }
    options = overrides.pop("OPTIONS", {})
    entry.update(overrides)
    entry["OPTIONS"].update(options)
    return entry


def session_settings(topology: RedisTopology, **overrides: Any) -> dict[str, Any]:
    credentials = topology.client_kwargs()
    values: dict[str, Any] = {
        "SESSION_REDIS_SENTINEL_URLS": topology.sentinel_addresses,
        "SESSION_REDIS_PREFIX": f"s{uuid.uuid4().hex[:10]}",
        "SHARDINEL_SESSION_USERNAME": credentials["username"],
        "SHARDINEL_SESSION_PASSWORD": credentials["password"],
        "SHARDINEL_SESSION_SENTINEL_USERNAME": credentials["sentinel_username"],
        "SHARDINEL_SESSION_SENTINEL_PASSWORD": credentials["sentinel_password"],
    }
    values.update(overrides)
    return values

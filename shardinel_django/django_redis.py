"""A django-redis CLIENT_CLASS on shardinel's ShardedSentinelClient, for applications that use django-redis.

    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": ["10.0.0.1:26379", "10.0.0.2:26379"],            # Sentinel addresses
        "OPTIONS": {"CLIENT_CLASS": "shardinel_django.django_redis.ShardedSentinelClient",
                    "USERNAME": "app", "PASSWORD": "...",
                    "SENTINEL_USERNAME": "sentinel-client", "SENTINEL_PASSWORD": "..."},
    }}

django-redis's DefaultClient runs unchanged on the sharded client (a drop-in for redis-py's Redis),
except: keys() scans (SCAN on every shard, no KEYS); clear() UNLINKs this cache's keys on every shard
instead of FLUSHDB; set_many() and delete_pattern() batch in pipelines split by shard (transaction=False:
redis-py's default pipeline is one MULTI/EXEC, which needs every key on one shard); and the set methods
that combine several keys raise CrossShardError naming the method when the keys are on different shards
(give them one {hash tag}).
"""

from __future__ import annotations

import functools
import socket
from typing import Any, Callable, Optional

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django_redis.client import DefaultClient
from django_redis.client.default import glob_escape as django_redis_glob_escape
from django_redis.exceptions import ConnectionInterrupted
from shardinel.errors import CrossShardError
from shardinel.redis_import import RedisConnectionError, RedisTimeoutError, ResponseError

from .cache import cache_alias
from .client_calls import run
from .connections import ClientHandle
from .keyspace import unlink_matching
from .options import parse_client_settings

SERIALIZERS = {
    "pickle": "django_redis.serializers.pickle.PickleSerializer",
    "json": "django_redis.serializers.json.JSONSerializer",
}
NOT_APPLICABLE = {
    "SENTINELS": "put the Sentinel addresses in LOCATION",
    "CONNECTION_FACTORY": "the shardinel client makes its own connections",
    "CONNECTION_POOL_CLASS": "the shardinel client keeps one pool per master",
    "CONNECTION_POOL_KWARGS": "use OPTIONS['CLIENT_KWARGS'] for redis-py arguments",
    "REDIS_CLIENT_CLASS": "the shardinel client is the Redis client",
    "REDIS_CLIENT_KWARGS": "use OPTIONS['CLIENT_KWARGS'] for redis-py arguments",
}
DJANGO_REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, ResponseError, socket.timeout)  # as DefaultClient
MULTI_KEY_METHODS = ("sdiff", "sdiffstore", "sinter", "sinterstore", "smove", "sunion", "sunionstore")


class _BatchingClient:
    """The shared client, for django-redis methods that batch keys in ``client.pipeline()``: their pipeline is
    transaction=False, split by shard (redis-py's default, one MULTI/EXEC, would need every key on one shard)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def pipeline(self, transaction: bool = False, shard_hint: Any = None) -> Any:
        return self._client.pipeline(transaction=transaction, shard_hint=shard_hint)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _options(options: dict[str, Any], where: str) -> dict[str, Any]:
    for name, advice in NOT_APPLICABLE.items():
        if name in options:
            raise ImproperlyConfigured(f"{where}[{name!r}] does not apply to {__name__}.ShardedSentinelClient: {advice}")
    serializer = options.get("SERIALIZER")
    if serializer is None:
        return options
    path = SERIALIZERS.get(serializer, serializer) if isinstance(serializer, str) else serializer
    try:
        import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{where}['SERIALIZER']: unknown serializer {serializer!r} ({exc}); use \"pickle\", "
                                   "\"json\" or the dotted path of a django-redis serializer class") from None
    return dict(options, SERIALIZER=path)


class ShardedSentinelClient(DefaultClient):
    """django-redis's DefaultClient with every command going through one shared ShardedSentinelClient."""

    def __init__(self, server: Any, params: dict[str, Any], backend: Any) -> None:
        where = f"CACHES[{cache_alias(server, params)!r}]"
        options = params.get("OPTIONS") or {}
        settings = parse_client_settings(server, f"{where}['LOCATION']", options, f"{where}['OPTIONS']", strict=False)
        self._handle = ClientHandle(settings)
        self._where = where
        super().__init__(server, dict(params, OPTIONS=_options(options, f"{where}['OPTIONS']")), backend)
        self._server = [",".join(f"{host}:{port}" for host, port in settings.sentinels)]
        self._clients = [None]

    def get_client(self, write: bool = True, tried: Optional[list[int]] = None) -> Any:
        """The shared client; the first call asks the Sentinels, and their errors come as ConnectionInterrupted
        (django-redis's IGNORE_EXCEPTIONS applies; without it RedisCache re-raises the Sentinel error)."""
        try:
            return self._handle.get()
        except DJANGO_REDIS_ERRORS as exc:
            raise ConnectionInterrupted(connection=None) from exc

    def get_client_with_index(self, write: bool = True, tried: Optional[list[int]] = None) -> tuple[Any, int]:
        return self.get_client(write, tried), 0

    def connect(self, index: int = 0) -> Any:
        return self.get_client()

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        """The shared client stays open; shardinel_django.connections.close_all() closes it."""

    def close(self) -> None:
        """The shared client stays open; shardinel_django.connections.close_all() closes it."""

    def keys(self, search: str, version: Optional[int] = None, client: Any = None) -> list[Any]:
        """Like django-redis's keys(), by SCAN on every shard (KEYS is a @dangerous command)."""
        try:
            return list(self.iter_keys(search, version=version, client=client))
        except DJANGO_REDIS_ERRORS as exc:
            raise ConnectionInterrupted(connection=client) from exc

    def clear(self, client: Any = None) -> None:
        """UNLINK every key of this cache (KEY_PREFIX, any version) on every shard, not FLUSHDB."""
        client = client if client is not None else self.get_client(write=True)
        pattern = self._backend.key_func("*", django_redis_glob_escape(self._backend.key_prefix), "*")
        if not pattern.strip("*"):
            raise ImproperlyConfigured(f"{self._where}: clear() would match every key ({pattern!r}); set a KEY_PREFIX")
        try:
            run(unlink_matching(pattern), lambda: client)
        except DJANGO_REDIS_ERRORS as exc:
            raise ConnectionInterrupted(connection=client) from exc

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None,
                 client: Any = None) -> None:
        """django-redis's set_many(), its pipeline split by shard (not one MULTI/EXEC)."""
        client = client if client is not None else self.get_client(write=True)
        super().set_many(data, timeout, version=version, client=_BatchingClient(client))

    def delete_pattern(self, pattern: str, version: Optional[int] = None, prefix: Optional[str] = None,
                       client: Any = None, itersize: Optional[int] = None) -> int:
        """django-redis's delete_pattern(): SCAN on every shard, its DELs in a pipeline split by shard."""
        client = client if client is not None else self.get_client(write=True)
        return int(super().delete_pattern(pattern, version=version, prefix=prefix, client=_BatchingClient(client),
                                          itersize=itersize))


def _single_shard(name: str) -> Callable[..., Any]:
    method = getattr(DefaultClient, name)

    @functools.wraps(method)
    def run(self: ShardedSentinelClient, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except CrossShardError as exc:
            raise CrossShardError(f"django-redis {name}() ({exc.command})", exc.shards) from exc
    return run


for _name in MULTI_KEY_METHODS:
    setattr(ShardedSentinelClient, _name, _single_shard(_name))

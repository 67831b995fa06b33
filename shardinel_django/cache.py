"""ShardedSentinelCache: a Django cache backend on shardinel's ShardedSentinelClient.

    CACHES = {"default": {
        "BACKEND": "shardinel_django.cache.ShardedSentinelCache",
        "LOCATION": ["10.0.0.1:26379", "10.0.0.2:26379"],      # or "10.0.0.1:26379,10.0.0.2:26379"
        "OPTIONS": {"USERNAME": "app", "PASSWORD": "...",
                    "SENTINEL_USERNAME": "sentinel-client", "SENTINEL_PASSWORD": "..."},
    }}

Timeouts: None keeps a key forever, 0 (or less) expires it at once, the default is TIMEOUT.
get_many/set_many/delete_many use the client's shard-split MGET/MSET/DEL (set_many with a
timeout: one pipeline, grouped by shard); clear() UNLINKs only this cache's keys on every shard.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

from django.conf import settings as django_settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured
from asgiref.sync import sync_to_async  # Django's own dependency; imported after Django for a clear ImportError
from shardinel.redis_import import AuthenticationError, RedisConnectionError, RedisError, RedisTimeoutError

from .connections import ClientHandle, CredentialsRejectedError
from .keyspace import cache_pattern, unlink_matching
from .options import parse_client_settings
from .serializers import serializer_from_setting

logger = logging.getLogger(__name__)

CACHE_OPTIONS = frozenset({"SERIALIZER", "IGNORE_EXCEPTIONS"})
IGNORABLE = (RedisConnectionError, RedisTimeoutError)
INCR_SCRIPT = "if redis.call('EXISTS', KEYS[1]) == 0 then return false end return redis.call('INCRBY', KEYS[1], ARGV[1])"
PERSIST_SCRIPT = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end redis.call('PERSIST', KEYS[1]) return 1"


def cache_alias(location: Any, params: dict[str, Any]) -> str:
    """The CACHES alias whose entry Django built these arguments from ("?" if it cannot be told)."""
    for alias, entry in getattr(django_settings, "CACHES", {}).items():
        rest = {k: v for k, v in entry.items() if k not in ("BACKEND", "LOCATION")}
        if entry.get("LOCATION", "") == location and rest == params:
            return str(alias)
    return "?"


def check_default_timeout(params: dict[str, Any], where: str) -> None:
    name = "timeout" if "timeout" in params else "TIMEOUT"
    timeout = params.get(name)
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ImproperlyConfigured(f"{where}[{name!r}] must be None (keep forever) or a number of seconds >= 0, "
                                   f"got {timeout!r}")


class ShardedSentinelCache(BaseCache):
    """Django's BaseCache API over the shards that Sentinel monitors; one client per process and settings."""

    def __init__(self, location: Any, params: dict[str, Any]) -> None:
        where = f"CACHES[{cache_alias(location, params)!r}]"
        check_default_timeout(params, where)
        super().__init__(params)
        options = params.get("OPTIONS") or {}
        settings = parse_client_settings(location, f"{where}['LOCATION']", options, f"{where}['OPTIONS']",
                                         allowed_extra=CACHE_OPTIONS)
        self._handle = ClientHandle(settings)
        self._serializer = serializer_from_setting(options.get("SERIALIZER"), f"{where}['OPTIONS']['SERIALIZER']")
        ignore = options.get("IGNORE_EXCEPTIONS", False)
        if not isinstance(ignore, bool):
            raise ImproperlyConfigured(f"{where}['OPTIONS']['IGNORE_EXCEPTIONS'] must be True or False, got {ignore!r}")
        self._ignore_exceptions = ignore
        self._where = where

    @property
    def client(self) -> Any:
        """The shared ShardedSentinelClient (a drop-in for redis-py's Redis), built at the first call."""
        return self._handle.get()

    def _expiry_ms(self, timeout: Any) -> Optional[int]:
        """None: keep forever; <= 0: expire now; else milliseconds."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        return int(timeout * 1000)

    def _failed(self, operation: str, exc: RedisError, fallback: Any) -> Any:
        if isinstance(exc, CredentialsRejectedError):
            raise exc
        if isinstance(exc, AuthenticationError):
            raise self._handle.credentials_error(exc) from exc
        if self._ignore_exceptions and isinstance(exc, IGNORABLE):
            logger.warning("%s: cache %s failed, ignored (IGNORE_EXCEPTIONS): %s", self._where, operation, exc)
            return fallback
        raise exc

    def get(self, key: Any, default: Any = None, version: Optional[int] = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        try:
            value = self._handle.get().get(key)
        except RedisError as exc:
            return self._failed("get", exc, default)
        return default if value is None else self._serializer.loads(value)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> None:
        key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry_ms(timeout)
        data = self._serializer.dumps(value)
        try:
            if expiry is not None and expiry <= 0:
                self._handle.get().delete(key)
            else:
                self._handle.get().set(key, data, px=expiry)
        except RedisError as exc:
            self._failed("set", exc, None)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry_ms(timeout)
        data = self._serializer.dumps(value)
        try:
            client = self._handle.get()
            if expiry is not None and expiry <= 0:
                return not client.exists(key)
            return bool(client.set(key, data, px=expiry, nx=True))
        except RedisError as exc:
            return bool(self._failed("add", exc, False))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry_ms(timeout)
        try:
            client = self._handle.get()
            if expiry is None:
                return bool(client.eval(PERSIST_SCRIPT, 1, key))
            if expiry <= 0:
                return bool(client.delete(key))
            return bool(client.pexpire(key, expiry))
        except RedisError as exc:
            return bool(self._failed("touch", exc, False))

    def delete(self, key: Any, version: Optional[int] = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        try:
            return bool(self._handle.get().delete(key))
        except RedisError as exc:
            return bool(self._failed("delete", exc, False))

    def has_key(self, key: Any, version: Optional[int] = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        try:
            return int(self._handle.get().exists(key)) == 1
        except RedisError as exc:
            return bool(self._failed("has_key", exc, False))

    def incr(self, key: Any, delta: int = 1, version: Optional[int] = None) -> Any:
        made = self.make_and_validate_key(key, version=version)
        try:
            value = self._handle.get().eval(INCR_SCRIPT, 1, made, int(delta))
        except RedisError as exc:
            return self._failed("incr", exc, None)
        if value is None:
            raise ValueError(f"Key '{key}' not found")
        return int(value)

    def decr(self, key: Any, delta: int = 1, version: Optional[int] = None) -> Any:
        return self.incr(key, -delta, version=version)

    def get_many(self, keys: Iterable[Any], version: Optional[int] = None) -> dict[Any, Any]:
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not made:
            return {}
        try:
            values = self._handle.get().mget(list(made))
        except RedisError as exc:
            return dict(self._failed("get_many", exc, {}))
        loads = self._serializer.loads
        return {made[key]: loads(value) for key, value in zip(made, values) if value is not None}

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> list[Any]:
        if not data:
            return []
        dumps = self._serializer.dumps
        made = {self.make_and_validate_key(key, version=version): dumps(value) for key, value in data.items()}
        expiry = self._expiry_ms(timeout)
        try:
            client = self._handle.get()
            if expiry is None:
                client.mset(made)
            elif expiry <= 0:
                client.delete(*made)
            else:
                pipe = client.pipeline(transaction=False)
                for key, value in made.items():
                    pipe.set(key, value, px=expiry)
                pipe.execute()
        except RedisError as exc:
            return list(self._failed("set_many", exc, list(data)))
        return []

    def delete_many(self, keys: Iterable[Any], version: Optional[int] = None) -> None:
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        if not made:
            return
        try:
            self._handle.get().delete(*made)
        except RedisError as exc:
            self._failed("delete_many", exc, None)

    def clear(self) -> bool:
        """UNLINK every key of this cache (KEY_PREFIX, any version) on every shard; other keys stay."""
        pattern = cache_pattern(self.key_func, self.key_prefix, self._where)
        try:
            unlink_matching(self._handle.get(), pattern)
        except RedisError as exc:
            return bool(self._failed("clear", exc, False))
        return True

    def close(self, **kwargs: Any) -> None:
        """Django calls this after every request; the shared client stays open (see connections.close_all)."""

    # The base class's async get_many/set_many/delete_many/has_key/incr loop over single-key calls or
    # read-modify-write; these run the sync versions above in a thread instead.
    async def aget_many(self, keys: Iterable[Any], version: Optional[int] = None) -> dict[Any, Any]:
        return await sync_to_async(self.get_many, thread_sensitive=True)(list(keys), version)

    async def aset_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT,
                        version: Optional[int] = None) -> list[Any]:
        return await sync_to_async(self.set_many, thread_sensitive=True)(data, timeout, version)

    async def adelete_many(self, keys: Iterable[Any], version: Optional[int] = None) -> None:
        return await sync_to_async(self.delete_many, thread_sensitive=True)(list(keys), version)

    async def ahas_key(self, key: Any, version: Optional[int] = None) -> bool:
        return await sync_to_async(self.has_key, thread_sensitive=True)(key, version)

    async def aincr(self, key: Any, delta: int = 1, version: Optional[int] = None) -> Any:
        return await sync_to_async(self.incr, thread_sensitive=True)(key, delta, version)

    async def adecr(self, key: Any, delta: int = 1, version: Optional[int] = None) -> Any:
        return await sync_to_async(self.incr, thread_sensitive=True)(key, -delta, version)

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
The async methods (aget, aset_many, aincr, aclear, ...) do the same through the running event loop's
shardinel.asyncio client, not in threads.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

from django.conf import settings as django_settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured
from shardinel.redis_import import AuthenticationError, RedisConnectionError, RedisError, RedisTimeoutError

from .client_calls import Operation, Pipeline, arun, async_method, call, run, sync_method
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

    def _run(self, operation: Operation) -> Any:
        return run(operation, self._handle.get)

    async def _arun(self, operation: Operation) -> Any:
        return await arun(operation, self._handle.aget)

    # Each operation once, as steps (client_calls): the sync method runs them on the shared client, the async one
    # on the event loop's asyncio client.
    def _get(self, key: Any, default: Any = None, version: Optional[int] = None) -> Operation:
        key = self.make_and_validate_key(key, version=version)
        try:
            value = yield call("get", key)
        except RedisError as exc:
            return self._failed("get", exc, default)
        return default if value is None else self._serializer.loads(value)

    def _set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> Operation:
        key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry_ms(timeout)
        data = self._serializer.dumps(value)
        try:
            if expiry is not None and expiry <= 0:
                yield call("delete", key)
            else:
                yield call("set", key, data, px=expiry)
        except RedisError as exc:
            self._failed("set", exc, None)

    def _add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> Operation:
        key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry_ms(timeout)
        data = self._serializer.dumps(value)
        try:
            if expiry is not None and expiry <= 0:
                return not (yield call("exists", key))
            return bool((yield call("set", key, data, px=expiry, nx=True)))
        except RedisError as exc:
            return bool(self._failed("add", exc, False))

    def _touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> Operation:
        key = self.make_and_validate_key(key, version=version)
        expiry = self._expiry_ms(timeout)
        try:
            if expiry is None:
                return bool((yield call("eval", PERSIST_SCRIPT, 1, key)))
            if expiry <= 0:
                return bool((yield call("delete", key)))
            return bool((yield call("pexpire", key, expiry)))
        except RedisError as exc:
            return bool(self._failed("touch", exc, False))

    def _delete(self, key: Any, version: Optional[int] = None) -> Operation:
        key = self.make_and_validate_key(key, version=version)
        try:
            return bool((yield call("delete", key)))
        except RedisError as exc:
            return bool(self._failed("delete", exc, False))

    def _has_key(self, key: Any, version: Optional[int] = None) -> Operation:
        key = self.make_and_validate_key(key, version=version)
        try:
            return int((yield call("exists", key))) == 1
        except RedisError as exc:
            return bool(self._failed("has_key", exc, False))

    def _incr(self, key: Any, delta: int = 1, version: Optional[int] = None) -> Operation:
        made = self.make_and_validate_key(key, version=version)
        try:
            value = yield call("eval", INCR_SCRIPT, 1, made, int(delta))
        except RedisError as exc:
            return self._failed("incr", exc, None)
        if value is None:
            raise ValueError(f"Key '{key}' not found")
        return int(value)

    def _decr(self, key: Any, delta: int = 1, version: Optional[int] = None) -> Operation:
        return (yield from self._incr(key, -delta, version=version))

    def _get_many(self, keys: Iterable[Any], version: Optional[int] = None) -> Operation:
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not made:
            return {}
        try:
            values = yield call("mget", list(made))
        except RedisError as exc:
            return dict(self._failed("get_many", exc, {}))
        loads = self._serializer.loads
        return {made[key]: loads(value) for key, value in zip(made, values) if value is not None}

    def _set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Optional[int] = None) -> Operation:
        if not data:
            return []
        dumps = self._serializer.dumps
        made = {self.make_and_validate_key(key, version=version): dumps(value) for key, value in data.items()}
        expiry = self._expiry_ms(timeout)
        try:
            if expiry is None:
                yield call("mset", made)
            elif expiry <= 0:
                yield call("delete", *made)
            else:
                yield Pipeline([call("set", key, value, px=expiry) for key, value in made.items()])
        except RedisError as exc:
            return list(self._failed("set_many", exc, list(data)))
        return []

    def _delete_many(self, keys: Iterable[Any], version: Optional[int] = None) -> Operation:
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        if not made:
            return
        try:
            yield call("delete", *made)
        except RedisError as exc:
            self._failed("delete_many", exc, None)

    def _clear(self) -> Operation:
        """UNLINK every key of this cache (KEY_PREFIX, any version) on every shard; other keys stay."""
        pattern = cache_pattern(self.key_func, self.key_prefix, self._where)
        try:
            yield from unlink_matching(pattern)
        except RedisError as exc:
            return bool(self._failed("clear", exc, False))
        return True

    get, aget = sync_method(_get), async_method(_get)
    set, aset = sync_method(_set), async_method(_set)
    add, aadd = sync_method(_add), async_method(_add)
    touch, atouch = sync_method(_touch), async_method(_touch)
    delete, adelete = sync_method(_delete), async_method(_delete)
    has_key, ahas_key = sync_method(_has_key), async_method(_has_key)
    incr, aincr = sync_method(_incr), async_method(_incr)
    decr, adecr = sync_method(_decr), async_method(_decr)
    get_many, aget_many = sync_method(_get_many), async_method(_get_many)
    set_many, aset_many = sync_method(_set_many), async_method(_set_many)
    delete_many, adelete_many = sync_method(_delete_many), async_method(_delete_many)
    clear, aclear = sync_method(_clear), async_method(_clear)

    def close(self, **kwargs: Any) -> None:
        """Django calls this after every request; the shared client stays open (see connections.close_all)."""

    async def aclose(self, **kwargs: Any) -> None:
        """Django calls this after every request; the event loop's client stays open (see connections)."""

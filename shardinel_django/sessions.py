"""Session engine: ``SESSION_ENGINE = "shardinel_django.sessions"``, with disredis's setting names.

    SESSION_REDIS_SENTINEL_URLS = ["10.0.0.1:26379", "10.0.0.2:26379"]   # required
    SESSION_REDIS_PREFIX = "mysessions"        # key = "<prefix>:<session key>"; no prefix: the bare session key
    SESSION_REDIS_DB = 0
    SHARDINEL_SESSION_USERNAME / SHARDINEL_SESSION_PASSWORD                    # Redis ACL user
    SHARDINEL_SESSION_SENTINEL_USERNAME / SHARDINEL_SESSION_SENTINEL_PASSWORD  # Sentinel ACL user
    SHARDINEL_SESSION_OPTIONS = {"SOCKET_TIMEOUT": 2, ...}   # the cache backend's client OPTIONS

Each session is one string key whose Redis TTL is the session's expiry age (SESSION_COOKIE_AGE or
the session's own expiry), so clear_expired() has nothing to do. create() never overwrites a key
(SET NX); save() of an existing session only updates a key that is still there (SET XX).
"""

from __future__ import annotations

from typing import Any, Optional

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.core.exceptions import ImproperlyConfigured
from shardinel.redis_import import AuthenticationError

from .client_calls import Local, Operation, arun, async_method, call, run, sync_method
from .connections import ClientHandle
from .options import ClientSettings, parse_client_settings

CREDENTIAL_SETTINGS = {
    "USERNAME": "SHARDINEL_SESSION_USERNAME",
    "PASSWORD": "SHARDINEL_SESSION_PASSWORD",
    "SENTINEL_USERNAME": "SHARDINEL_SESSION_SENTINEL_USERNAME",
    "SENTINEL_PASSWORD": "SHARDINEL_SESSION_SENTINEL_PASSWORD",
    "DB": "SESSION_REDIS_DB",
}
CREATE_ATTEMPTS = 100


def session_client_settings() -> ClientSettings:
    """ClientSettings from the session settings; ImproperlyConfigured naming the setting when one is wrong."""
    options = getattr(settings, "SHARDINEL_SESSION_OPTIONS", None) or {}
    if not isinstance(options, dict):
        raise ImproperlyConfigured(f"SHARDINEL_SESSION_OPTIONS must be a dict, got {type(options).__name__}")
    merged = dict(options)
    for option, setting in CREDENTIAL_SETTINGS.items():
        value = getattr(settings, setting, None)
        if value is None:
            continue
        if option in options:
            raise ImproperlyConfigured(f"SHARDINEL_SESSION_OPTIONS[{option!r}] and {setting} are both set; keep {setting}")
        merged[option] = value

    def label(option: str) -> str:
        if option in CREDENTIAL_SETTINGS and option not in options:
            return CREDENTIAL_SETTINGS[option]
        return f"SHARDINEL_SESSION_OPTIONS[{option!r}]"
    return parse_client_settings(getattr(settings, "SESSION_REDIS_SENTINEL_URLS", None), "SESSION_REDIS_SENTINEL_URLS",
                                 merged, "SHARDINEL_SESSION_OPTIONS", label=label)


def session_prefix() -> str:
    prefix = getattr(settings, "SESSION_REDIS_PREFIX", "") or ""
    if not isinstance(prefix, str):
        raise ImproperlyConfigured(f"SESSION_REDIS_PREFIX must be a string, got {type(prefix).__name__}")
    return f"{prefix}:" if prefix else ""


_handles: dict[tuple[Any, ...], ClientHandle] = {}


def session_handle() -> ClientHandle:
    client_settings = session_client_settings()
    key = client_settings.key
    handle = _handles.get(key)
    if handle is None:
        handle = _handles.setdefault(key, ClientHandle(client_settings))
    return handle


class SessionStore(SessionBase):
    """Django sessions on the shards that Sentinel monitors; the async methods (aload, asave, aexists, ...) use the
    running event loop's shardinel.asyncio client."""

    def __init__(self, session_key: Optional[str] = None) -> None:
        self._handle = session_handle()
        self._prefix = session_prefix()
        super().__init__(session_key)

    def _redis_key(self, session_key: str) -> str:
        return self._prefix + session_key

    def _client(self) -> Any:
        return self._handle.get()

    def _run(self, operation: Operation) -> Any:
        try:
            return run(operation, self._handle.get)
        except AuthenticationError as exc:
            raise self._handle.credentials_error(exc) from exc

    async def _arun(self, operation: Operation) -> Any:
        try:
            return await arun(operation, self._handle.aget)
        except AuthenticationError as exc:
            raise self._handle.credentials_error(exc) from exc

    # Each operation once, as steps (client_calls), for the sync and the async method. Session keys come from
    # Django's own helpers (their async forms ask with aexists()).
    def _load(self) -> Operation:
        session_key = yield Local(self._get_or_create_session_key, getattr(self, "_aget_or_create_session_key", None))
        data = yield call("get", self._redis_key(session_key))
        if data is None:
            self._session_key = None
            return {}
        return self.decode(data.decode("ascii") if isinstance(data, bytes) else data)

    def _exists(self, session_key: Optional[str]) -> Operation:
        if not session_key:
            return False
        return int((yield call("exists", self._redis_key(session_key)))) == 1

    def _create(self) -> Operation:
        for _attempt in range(CREATE_ATTEMPTS):
            self._session_key = yield Local(self._get_new_session_key, getattr(self, "_aget_new_session_key", None))
            try:
                yield from self._save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError(f"no unused session key found in {CREATE_ATTEMPTS} attempts")

    def _save(self, must_create: bool = False) -> Operation:
        if self.session_key is None:
            yield from self._create()
            return
        data = self.encode(self._get_session(no_load=must_create))
        age = self.get_expiry_age()
        key = self._redis_key(self.session_key)
        if age <= 0:
            yield call("delete", key)
            return
        if not (yield call("set", key, data, ex=age, nx=must_create, xx=not must_create)):
            raise CreateError if must_create else UpdateError

    def _delete(self, session_key: Optional[str] = None) -> Operation:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        yield call("delete", self._redis_key(session_key))

    load, aload = sync_method(_load), async_method(_load)
    exists, aexists = sync_method(_exists), async_method(_exists)
    create, acreate = sync_method(_create), async_method(_create)
    save, asave = sync_method(_save), async_method(_save)
    delete, adelete = sync_method(_delete), async_method(_delete)

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: Redis expires every session key by its TTL."""

    @classmethod
    async def aclear_expired(cls) -> None:
        """Nothing to do: Redis expires every session key by its TTL."""

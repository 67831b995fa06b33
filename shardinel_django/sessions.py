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
    """Django sessions on the shards that Sentinel monitors."""

    def __init__(self, session_key: Optional[str] = None) -> None:
        self._handle = session_handle()
        self._prefix = session_prefix()
        super().__init__(session_key)

    def _redis_key(self, session_key: str) -> str:
        return self._prefix + session_key

    def _client(self) -> Any:
        return self._handle.get()

    def load(self) -> dict[str, Any]:
        try:
            data = self._client().get(self._redis_key(self._get_or_create_session_key()))
        except AuthenticationError as exc:
            raise self._handle.credentials_error(exc) from exc
        if data is None:
            self._session_key = None
            return {}
        return self.decode(data.decode("ascii") if isinstance(data, bytes) else data)  # type: ignore[no-any-return]

    def exists(self, session_key: Optional[str]) -> bool:
        if not session_key:
            return False
        try:
            return int(self._client().exists(self._redis_key(session_key))) == 1
        except AuthenticationError as exc:
            raise self._handle.credentials_error(exc) from exc

    def create(self) -> None:
        for _attempt in range(CREATE_ATTEMPTS):
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError(f"no unused session key found in {CREATE_ATTEMPTS} attempts")

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
            return
        data = self.encode(self._get_session(no_load=must_create))
        age = self.get_expiry_age()
        key = self._redis_key(self.session_key)
        try:
            client = self._client()
            if age <= 0:
                client.delete(key)
                return
            stored = client.set(key, data, ex=age, nx=must_create, xx=not must_create)
        except AuthenticationError as exc:
            raise self._handle.credentials_error(exc) from exc
        if not stored:
            raise CreateError if must_create else UpdateError

    def delete(self, session_key: Optional[str] = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._client().delete(self._redis_key(session_key))
        except AuthenticationError as exc:
            raise self._handle.credentials_error(exc) from exc

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: Redis expires every session key by its TTL."""

    @classmethod
    async def aclear_expired(cls) -> None:
        """Nothing to do: Redis expires every session key by its TTL."""

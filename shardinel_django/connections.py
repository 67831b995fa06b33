"""One ShardedSentinelClient per process for each distinct ClientSettings, shared by every thread, and one
shardinel.asyncio client per event loop for Django's async API.

Django makes a cache backend object per thread and a SessionStore per request; they all reach the
same client (and so the same connection pools and Sentinel listener) through ``ClientHandle.get()``.
Under ASGI the async methods (aget, asave, ...) reach the asyncio client of the running event loop through
``await ClientHandle.aget()``: an ASGI server runs one loop per process, so that is one client per process
too; its connections and tasks belong to that loop (``aclose_loop_clients()`` closes them, for example at the
server's lifespan shutdown). A forked child forgets its parent's clients without closing them (the sockets are
the parent's) and builds its own at first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from typing import Any, Iterator

from django.core.exceptions import ImproperlyConfigured
from shardinel import ShardedSentinelClient
from shardinel.addresses import format_address
from shardinel.asyncio import ShardedSentinelClient as AsyncShardedSentinelClient
from shardinel.redis_import import AuthenticationError

from .options import ClientSettings

_clients: dict[tuple[Any, ...], ShardedSentinelClient] = {}
_loop_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]]" = \
    weakref.WeakKeyDictionary()
_loop_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_generation = 0


class CredentialsRejectedError(AuthenticationError):
    """Redis or the Sentinels refused the configured username/password; the message names the settings."""


def _forget_after_fork() -> None:
    global _lock, _generation
    _lock = threading.Lock()
    _clients.clear()
    _loop_clients.clear()
    _loop_locks.clear()
    _generation += 1


os.register_at_fork(after_in_child=_forget_after_fork)


def shared_client(settings: ClientSettings) -> ShardedSentinelClient:
    """The process's client for these settings, built (asking the Sentinels) at the first call."""
    key = settings.key
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _build(settings)
            _clients[key] = client
    return client


@contextlib.contextmanager
def _settings_errors(settings: ClientSettings) -> Iterator[None]:
    """A refused Sentinel password as CredentialsRejectedError, a client argument's ValueError as ImproperlyConfigured."""
    label = settings.label
    try:
        yield
    except AuthenticationError as exc:
        addresses = ", ".join(format_address(a) for a in settings.sentinels)
        raise CredentialsRejectedError(
            f"the Sentinels at {addresses} rejected the Sentinel credentials {label('SENTINEL_USERNAME')}="
            f"{settings.sentinel_username!r} and {label('SENTINEL_PASSWORD')}: {exc}") from exc
    except ValueError as exc:
        raise ImproperlyConfigured(f"{settings.where}: {exc}") from exc


def _build(settings: ClientSettings) -> ShardedSentinelClient:
    with _settings_errors(settings):
        return ShardedSentinelClient(settings.sentinels, **settings.client_kwargs())


async def loop_client(settings: ClientSettings) -> Any:
    """The running event loop's shardinel.asyncio client for these settings, started at the first call."""
    loop = asyncio.get_running_loop()
    clients = _loop_clients.setdefault(loop, {})
    client = clients.get(settings.key)
    if client is not None:
        return client
    async with _loop_locks.setdefault(loop, asyncio.Lock()):
        client = clients.get(settings.key)
        if client is None:
            with _settings_errors(settings):
                client = AsyncShardedSentinelClient(settings.sentinels, **settings.client_kwargs())
                await client.initialize()
            clients[settings.key] = client
    return client


async def aclose_loop_clients() -> None:
    """Close the running event loop's asyncio clients (at an ASGI server's shutdown; tests); the next use builds new ones."""
    clients = _loop_clients.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.aclose()


def close_all() -> None:
    """Close every client of this process (tests, shutdown); the next use builds new ones."""
    global _generation
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
        _generation += 1
    for client in clients:
        client.close()


class ClientHandle:
    """A backend's way to its shared client: remembers it until close_all() or a fork."""

    __slots__ = ("settings", "_client", "_generation")

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._generation = -1

    def get(self) -> ShardedSentinelClient:
        if self._generation != _generation or self._client is None:
            generation = _generation
            self._client = shared_client(self.settings)
            self._generation = generation
        return self._client  # type: ignore[no-any-return]

    async def aget(self) -> Any:
        """The running event loop's shardinel.asyncio client."""
        return await loop_client(self.settings)

    def credentials_error(self, exc: AuthenticationError) -> AuthenticationError:
        """The error to raise for an AuthenticationError from a command: Redis refused USERNAME/PASSWORD."""
        if isinstance(exc, CredentialsRejectedError):
            return exc
        label = self.settings.label
        return CredentialsRejectedError(
            f"Redis rejected the credentials {label('USERNAME')}={self.settings.username!r} and "
            f"{label('PASSWORD')}: {exc}")

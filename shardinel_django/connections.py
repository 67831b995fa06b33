"""One ShardedSentinelClient per process for each distinct ClientSettings, shared by every thread.

Django makes a cache backend object per thread and a SessionStore per request; they all reach the
same client (and so the same connection pools and Sentinel listener) through ``ClientHandle.get()``.
A forked child forgets its parent's clients without closing them (the sockets are the parent's) and
builds its own at first use.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from shardinel import ShardedSentinelClient
from shardinel.addresses import format_address
from shardinel.redis_import import AuthenticationError

from .options import ClientSettings

_clients: dict[tuple[Any, ...], ShardedSentinelClient] = {}
_lock = threading.Lock()
_generation = 0


class CredentialsRejectedError(AuthenticationError):
    """Redis or the Sentinels refused the configured username/password; the message names the settings."""


def _forget_after_fork() -> None:
    global _lock, _generation
    _lock = threading.Lock()
    _clients.clear()
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


def _build(settings: ClientSettings) -> ShardedSentinelClient:
    label = settings.label
    try:
        return ShardedSentinelClient(settings.sentinels, **settings.client_kwargs())
    except AuthenticationError as exc:
        addresses = ", ".join(format_address(a) for a in settings.sentinels)
        raise CredentialsRejectedError(
            f"the Sentinels at {addresses} rejected the Sentinel credentials {label('SENTINEL_USERNAME')}="
            f"{settings.sentinel_username!r} and {label('SENTINEL_PASSWORD')}: {exc}") from exc
    except ValueError as exc:
        raise ImproperlyConfigured(f"{settings.where}: {exc}") from exc


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

    def credentials_error(self, exc: AuthenticationError) -> AuthenticationError:
        """The error to raise for an AuthenticationError from a command: Redis refused USERNAME/PASSWORD."""
        if isinstance(exc, CredentialsRejectedError):
            return exc
        label = self.settings.label
        return CredentialsRejectedError(
            f"Redis rejected the credentials {label('USERNAME')}={self.settings.username!r} and "
            f"{label('PASSWORD')}: {exc}")

"""Which shard each shard channel of a PubSub goes to, and how long to poll several connections (no I/O here).

Shared by the sync and the asyncio ShardedPubSub: shard channels (SSUBSCRIBE) belong to the shard that owns the
channel's slot, as SPUBLISH is routed; redis-py's ssubscribe arguments (names, lists of names, Subscription
objects, handlers by keyword) are grouped by that shard and given back in redis-py's form.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Optional

try:
    from redis.typing import Subscription
except ImportError:  # redis-py before 8 (or none): handlers only as keyword arguments
    Subscription = None

POLL_SLICE_S = 0.01


def _subscriptions(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, Any]:
    """{channel: handler or None} from redis-py's ssubscribe arguments (names, lists of names, Subscription objects)."""
    found: dict[Any, Any] = {}
    for arg in args:
        for item in (arg if isinstance(arg, (list, tuple)) else [arg]):
            if Subscription is not None and isinstance(item, Subscription):
                found[item.name] = item.handler
            else:
                found[item] = None
    found.update(kwargs)
    return found


def _arguments(subscriptions: dict[Any, Any]) -> tuple[list[Any], dict[str, Any]]:
    """redis-py ssubscribe arguments for {channel: handler}: positional names, and handlers by name."""
    names: list[Any] = []
    handlers: dict[str, Any] = {}
    for channel, handler in subscriptions.items():
        if handler is None:
            names.append(channel)
        elif Subscription is not None:
            names.append(Subscription(channel, handler))
        else:
            handlers[channel.decode() if isinstance(channel, bytes) else str(channel)] = handler
    return names, handlers


def subscriptions_by_shard(route: Callable[[Any], str], args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """{shard: (names, handlers)}: redis-py ssubscribe arguments for each shard's channels."""
    groups: dict[str, dict[Any, Any]] = {}
    for channel, handler in _subscriptions(args, kwargs).items():
        groups.setdefault(route(channel), {})[channel] = handler
    return {shard: _arguments(subscriptions) for shard, subscriptions in groups.items()}


def channels_by_shard(route: Callable[[Any], str], args: tuple[Any, ...]) -> dict[str, list[Any]]:
    """{shard: channels} for sunsubscribe."""
    groups: dict[str, list[Any]] = {}
    for channel in _subscriptions(args, {}):
        groups.setdefault(route(channel), []).append(channel)
    return groups


def poll_pauses(timeout: Optional[float]) -> Iterator[float]:
    """The pause before each round of polling several connections: none before the first, then short slices until
    ``timeout`` s have passed (forever if None)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.0
    while True:
        yield pause
        remaining = POLL_SLICE_S if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return
        pause = min(POLL_SLICE_S, remaining)


class ShardedPubSubBase:
    """The state both ShardedPubSubs keep: ``route(channel)`` names the shard of a shard channel, ``pool_of(shard)``
    gives that shard's connection pool; this PubSub's own connection is on ``home``'s master, and one more plain
    PubSub (the shell's ``_plain_class``) per other shard that has shard channels subscribed."""

    _plain_class: Any = None

    def __init__(self, home: str, route: Callable[[Any], str], pool_of: Callable[[str], Any], **kwargs: Any) -> None:
        self._home = home
        self._route = route
        self._pool_of = pool_of
        self._kwargs = kwargs
        self._others: dict[str, Any] = {}
        super().__init__(pool_of(home), **kwargs)  # type: ignore[call-arg]

    @property
    def shard(self) -> str:
        """The shard whose master this PubSub's own connection (channels and patterns) is on."""
        return self._home

    def _other(self, shard: str) -> Any:
        other = self._others.get(shard)
        if other is None:
            encoder = self.encoder  # type: ignore[attr-defined]  # pylint: disable=no-member
            other = self._others[shard] = self._plain_class(self._pool_of(shard), **dict(self._kwargs, encoder=encoder))
        return other

"""ShardedPubSub: redis-py's PubSub over shards.

Channels and patterns (SUBSCRIBE, PSUBSCRIBE) live on one connection to one shard's master, as with
redis-py, and the client's PUBLISH goes to every shard, so a message reaches its subscribers whatever
shard they listen on (and PUBLISH answers how many received it). Shard channels (SSUBSCRIBE) belong to
the shard that owns the channel's slot, as SPUBLISH is routed: those of this connection's shard are
subscribed on it, those of other shards on one more PubSub per shard; get_message() and listen() read
from all of them. With one shard this is redis-py's PubSub unchanged.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from .redis_import import PubSub

try:
    from redis.typing import Subscription
except ImportError:  # redis-py before 8: handlers only as keyword arguments
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


class ShardedPubSub(PubSub):  # type: ignore[misc]
    """``route(channel)`` names the shard of a shard channel; ``pool_of(shard)`` gives that shard's connection pool."""

    def __init__(self, home: str, route: Callable[[Any], str], pool_of: Callable[[str], Any], **kwargs: Any) -> None:
        self._home = home
        self._route = route
        self._pool_of = pool_of
        self._kwargs = kwargs
        self._others: dict[str, Any] = {}
        super().__init__(pool_of(home), **kwargs)

    @property
    def shard(self) -> str:
        """The shard whose master this PubSub's own connection (channels and patterns) is on."""
        return self._home

    def _other(self, shard: str) -> Any:
        other = self._others.get(shard)
        if other is None:
            kwargs = dict(self._kwargs, encoder=self.encoder)
            other = self._others[shard] = PubSub(self._pool_of(shard), **kwargs)
        return other

    def reset(self) -> None:
        others, self._others = getattr(self, "_others", {}), {}
        for other in others.values():
            other.reset()
        super().reset()

    def disconnect(self) -> None:
        """Drop every connection of this PubSub; each reconnects and subscribes again at its next read."""
        for source in [self] + list(self._others.values()):
            if source.connection is not None:
                source.connection.disconnect()

    @property
    def subscribed(self) -> bool:
        return self.subscribed_event.is_set() or any(other.subscribed for other in self._others.values())

    def ssubscribe(self, *args: Any, target_node: Any = None, **kwargs: Any) -> None:
        del target_node
        groups: dict[str, dict[Any, Any]] = {}
        for channel, handler in _subscriptions(args, kwargs).items():
            groups.setdefault(self._route(channel), {})[channel] = handler
        for shard, subscriptions in groups.items():
            names, handlers = _arguments(subscriptions)
            if shard == self._home:
                super().ssubscribe(*names, **handlers)
            else:
                self._other(shard).ssubscribe(*names, **handlers)

    def sunsubscribe(self, *args: Any, target_node: Any = None) -> None:
        del target_node
        if not args:
            others = [other for other in self._others.values() if other.shard_channels]
            if self.shard_channels or not others:
                super().sunsubscribe()
            for other in others:
                other.sunsubscribe()
            return
        groups: dict[str, list[Any]] = {}
        for channel in _subscriptions(args, {}):
            groups.setdefault(self._route(channel), []).append(channel)
        for shard, channels in groups.items():
            if shard == self._home:
                super().sunsubscribe(*channels)
            else:
                self._other(shard).sunsubscribe(*channels)

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0) -> Any:
        others = [other for other in self._others.values() if other.subscribed]
        if not others:
            return super().get_message(ignore_subscribe_messages, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for source in [self] + others:
                if source is self:
                    message = super().get_message(ignore_subscribe_messages, 0.0) if self.connection else None
                else:
                    message = source.get_message(ignore_subscribe_messages, 0.0)
                if message is not None:
                    return message
            remaining = POLL_SLICE_S if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(POLL_SLICE_S, remaining))

    get_sharded_message = get_message

    def listen(self) -> Any:
        if not self._others:
            yield from super().listen()
            return
        while self.subscribed:
            message = self.get_message(timeout=None)
            if message is not None:
                yield message

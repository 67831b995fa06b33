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
from typing import Any, Optional

from .redis_import import PubSub
from .shard_channels import ShardedPubSubBase, channels_by_shard, poll_pauses, subscriptions_by_shard


class ShardedPubSub(ShardedPubSubBase, PubSub):  # type: ignore[misc]
    """``route(channel)`` names the shard of a shard channel; ``pool_of(shard)`` gives that shard's connection pool."""

    _plain_class = PubSub

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
        for shard, (names, handlers) in subscriptions_by_shard(self._route, args, kwargs).items():
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
        for shard, channels in channels_by_shard(self._route, args).items():
            if shard == self._home:
                super().sunsubscribe(*channels)
            else:
                self._other(shard).sunsubscribe(*channels)

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0) -> Any:
        others = [other for other in self._others.values() if other.subscribed]
        if not others:
            return super().get_message(ignore_subscribe_messages, timeout)
        for pause in poll_pauses(timeout):
            time.sleep(pause)
            if self.connection:
                message = super().get_message(ignore_subscribe_messages, 0.0)
                if message is not None:
                    return message
            for other in others:
                message = other.get_message(ignore_subscribe_messages, 0.0)
                if message is not None:
                    return message
        return None

    get_sharded_message = get_message

    def listen(self) -> Any:
        if not self._others:
            yield from super().listen()
            return
        while self.subscribed:
            message = self.get_message(timeout=None)
            if message is not None:
                yield message

"""shardinel.asyncio's ShardedPubSub: redis.asyncio's PubSub over shards (see shardinel.pubsub for the rules).

Channels and patterns live on one connection to one shard's master, and the client's PUBLISH goes to every
shard; shard channels are subscribed on the shard that owns each (shard_channels), and get_message() and
listen() read from every connection this PubSub has.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Optional

from ..shard_channels import ShardedPubSubBase, channels_by_shard, poll_pauses, subscriptions_by_shard
from .redis_import import PubSub


class ShardedPubSub(ShardedPubSubBase, PubSub):  # type: ignore[misc]
    """``route(channel)`` names the shard of a shard channel; ``pool_of(shard)`` gives that shard's connection pool."""

    _plain_class = PubSub

    async def aclose(self) -> None:
        others, self._others = getattr(self, "_others", {}), {}
        for other in others.values():
            await other.aclose()
        await super().aclose()

    async def reset(self) -> None:
        await self.aclose()

    @property
    def subscribed(self) -> bool:
        return bool(super().subscribed) or any(other.subscribed for other in self._others.values())

    async def ssubscribe(self, *args: Any, target_node: Any = None, **kwargs: Any) -> None:
        del target_node
        for shard, (names, handlers) in subscriptions_by_shard(self._route, args, kwargs).items():
            target = super() if shard == self._home else self._other(shard)
            await target.ssubscribe(*names, **handlers)

    async def sunsubscribe(self, *args: Any, target_node: Any = None) -> None:
        del target_node
        if args:
            groups = channels_by_shard(self._route, args)
        else:
            groups = {shard: [] for shard, other in self._others.items() if other.shard_channels}
            if self.shard_channels or not groups:
                groups[self._home] = []
        for shard, channels in groups.items():
            target = super() if shard == self._home else self._other(shard)
            await target.sunsubscribe(*channels)

    async def get_message(self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0) -> Any:
        others = [other for other in self._others.values() if other.subscribed]
        if not others:
            return await super().get_message(ignore_subscribe_messages, timeout)
        sources = ([super()] if self.connection else []) + others
        for pause in poll_pauses(timeout):
            await asyncio.sleep(pause)
            for source in sources:
                message = await source.get_message(ignore_subscribe_messages, 0.0)
                if message is not None:
                    return message
        return None

    get_sharded_message = get_message

    async def listen(self) -> AsyncIterator[Any]:
        while self.subscribed:
            message = await self.get_message(timeout=None)
            if message is not None:
                yield message

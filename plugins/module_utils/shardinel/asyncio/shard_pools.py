"""``connection_pool`` of the asyncio client: each shard's redis.asyncio ConnectionPool by shard name."""

from __future__ import annotations

from typing import Any

from ..shard_pools import ShardPools


class AsyncShardConnectionPools(ShardPools):
    """The methods that act on every pool are coroutines, as redis.asyncio's."""

    async def disconnect(self, inuse_connections: bool = True) -> None:
        for pool in self._pools():
            await pool.disconnect(inuse_connections)

    async def reset(self) -> None:
        for pool in self._pools():
            pool.reset()

    async def aclose(self) -> None:
        await self.disconnect()

    close = aclose

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        return await self._only().get_connection(*args, **kwargs)

    async def release(self, connection: Any) -> None:
        await self._only().release(connection)

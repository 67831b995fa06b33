"""ShardConnectionPools: what ``client.connection_pool`` is for a ShardedSentinelClient.

redis-py's Redis has one ConnectionPool; this client has one per shard master, replaced when the shard
fails over. This object looks them up at each use: ``pools["shard1"]`` is that shard's current pool, and
the pool methods that make sense for all of them (disconnect, reset, close, get_encoder, get_protocol,
connection_kwargs) apply to all. get_connection()/release() work when there is one shard only; with
more, a connection belongs to one shard, so they raise and name the way to ask for one.
"""

from __future__ import annotations

from typing import Any, Iterator


class ShardPools:
    """Each shard's pool by name, and what all of them share; ``client`` is the ShardedSentinelClient (sync or
    asyncio) whose shards' pools this shows. The sync and asyncio subclasses add the methods that act on the pools."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getitem__(self, shard: str) -> Any:
        return self._client._core.shard(shard).client.connection_pool  # pylint: disable=protected-access

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._client.shards))

    def __len__(self) -> int:
        return len(self._client.shards)

    def keys(self) -> list[str]:
        return list(self._client.shards)

    def items(self) -> list[tuple[str, Any]]:
        return [(shard, self[shard]) for shard in self._client.shards]

    def _pools(self) -> list[Any]:
        return [pool for _shard, pool in self.items()]

    @property
    def connection_kwargs(self) -> dict[str, Any]:
        """The connection arguments every shard shares (a copy, without the host and port that differ)."""
        kwargs = dict(self._pools()[0].connection_kwargs)
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        return kwargs

    def get_encoder(self) -> Any:
        return self._client.get_encoder()

    def get_protocol(self) -> Any:
        return self._pools()[0].get_protocol()

    def _only(self) -> Any:
        pools = self._pools()
        if len(pools) != 1:
            raise ValueError(f"a connection belongs to one of the shards {', '.join(self._client.shards)}: "
                             "use client.connection_pool[shard].get_connection()")
        return pools[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict(self.items())!r}>"


class ShardConnectionPools(ShardPools):
    """The sync client's ``connection_pool``."""

    def disconnect(self, inuse_connections: bool = True) -> None:
        for pool in self._pools():
            pool.disconnect(inuse_connections)

    def reset(self) -> None:
        for pool in self._pools():
            pool.reset()

    def close(self) -> None:
        self.disconnect()

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        return self._only().get_connection(*args, **kwargs)

    def release(self, connection: Any) -> None:
        self._only().release(connection)

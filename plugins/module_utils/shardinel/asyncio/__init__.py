"""shardinel.asyncio: the sharded Sentinel client for asyncio, a drop-in for redis.asyncio's Redis.

    from shardinel.asyncio import ShardedSentinelClient

    async with ShardedSentinelClient(["10.0.0.1:26379", "10.0.0.2:26379"], username="app", password=...,
                                     sentinel_username="sentinel-client", sentinel_password=...) as r:
        await r.set("session:42", "...", ex=3600)

The routing, failover following and durability are the sync client's own code (shardinel.client_core and its
procedures); only the I/O is redis.asyncio's. Needs redis-py 5.0.1 or later (the sync client needs 4.3); this
package imports without redis-py, and the client raises ImportError saying what is missing.
"""

from ..errors import (CrossShardError, DurabilityError, KeylessCommandError, LayoutChangedError, LayoutUnavailableError,
                      NoSentinelAvailableError, ShardUnavailableError, UnknownShardError)
from .client import ShardedSentinelClient
from .pipeline import ShardedPipeline
from .pubsub import ShardedPubSub
from .redis_import import MINIMUM_VERSION, missing_reason

__all__ = [
    "ShardedSentinelClient", "ShardedPipeline", "ShardedPubSub", "CrossShardError", "DurabilityError",
    "KeylessCommandError", "LayoutChangedError", "LayoutUnavailableError", "NoSentinelAvailableError",
    "ShardUnavailableError", "UnknownShardError", "MINIMUM_VERSION", "missing_reason",
]

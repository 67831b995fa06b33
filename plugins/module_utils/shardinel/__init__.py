"""shardinel: a sharded Redis client that follows Sentinel failovers (a drop-in for redis-py's Redis)."""

from .client import DisredisClient, ShardedSentinelClient
from .failover_events import CHANNELS as FAILOVER_CHANNELS
from .errors import (CrossShardError, DurabilityError, KeylessCommandError, LayoutChangedError, LayoutUnavailableError,
                     NoSentinelAvailableError, ShardUnavailableError, UnknownShardError)
from .layout import Layout
from .pipeline import ShardedPipeline
from .pubsub import ShardedPubSub
from .redis_import import HAS_REDIS, REDIS_IMPORT_ERROR
from .slot_table import build_slot_table
from .slots import SLOT_COUNT, key_slot

__all__ = [
    "DisredisClient", "ShardedSentinelClient", "ShardedPipeline", "ShardedPubSub", "CrossShardError", "DurabilityError", "KeylessCommandError",
    "LayoutChangedError", "LayoutUnavailableError", "Layout", "NoSentinelAvailableError", "ShardUnavailableError",
    "UnknownShardError", "HAS_REDIS", "REDIS_IMPORT_ERROR",
    "build_slot_table", "SLOT_COUNT", "key_slot", "FAILOVER_CHANNELS",
]
__version__ = "0.3.0"

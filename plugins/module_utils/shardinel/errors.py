"""Errors raised by the shardinel client; all derive from redis-py's exceptions."""

from __future__ import annotations

from typing import Iterable, Sequence

from .redis_import import RedisConnectionError, RedisError


class ShardUnavailableError(RedisConnectionError):
    """A shard could not be reached before the failover timeout ran out."""

    def __init__(self, shard: str, sentinels: Sequence[str], cause: BaseException) -> None:
        self.shard = shard
        self.sentinels = list(sentinels)
        super().__init__(f"shard {shard!r} unavailable (Sentinels asked: {', '.join(self.sentinels)}): {cause}")


class NoSentinelAvailableError(RedisConnectionError):
    """No Sentinel answered; lists every address tried with its error."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.addresses = list(failures)
        detail = "; ".join(f"{address}: {error}" for address, error in failures.items())
        super().__init__(f"no Sentinel reachable at {', '.join(self.addresses)} ({detail})")


class UnknownShardError(RedisError):
    """A service name is not monitored by the Sentinels."""


class CrossShardError(RedisError):
    """A command's keys live on several shards and the command cannot be split."""

    def __init__(self, command: str, shards: Iterable[str]) -> None:
        self.command = command
        self.shards = sorted(set(shards))
        super().__init__(f"{command} keys span shards {', '.join(self.shards)}; use keys with one {{hash tag}} to keep them together")


class KeylessCommandError(RedisError):
    """A command has no key to route by and no defined fan-out."""

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(f"{command} has no key to choose a shard by and is not a fan-out command")

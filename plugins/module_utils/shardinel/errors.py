"""Errors raised by the shardinel client; all derive from redis-py's exceptions."""

from __future__ import annotations

import textwrap
from typing import Any, Iterable, Optional, Sequence

from .redis_import import RedisConnectionError, RedisError


class ShardUnavailableError(RedisConnectionError):
    """A shard could not be reached before the failover timeout ran out."""

    def __init__(self, shard: str, sentinels: Sequence[str], cause: BaseException) -> None:
        self.shard = shard
        self.sentinels = list(sentinels)
        super().__init__(f"shard {shard!r} unavailable (Sentinels asked: {', '.join(self.sentinels)}): {cause}")


class NoSentinelAvailableError(RedisConnectionError):
    """No Sentinel answered; lists every address tried with its error, and ``hint`` if the errors suggest a cause."""

    def __init__(self, failures: dict[str, str], hint: Optional[str] = None) -> None:
        self.addresses = list(failures)
        self.hint = hint
        detail = "; ".join(f"{address}: {error}" for address, error in failures.items())
        super().__init__(f"no Sentinel reachable at {', '.join(self.addresses)} ({detail})" + (f"; {hint}" if hint else ""))


class UnknownShardError(RedisError):
    """A service name is not monitored by the Sentinels."""


class CrossShardError(RedisError):
    """A command's keys live on several shards and the command cannot be split.

    ``command`` and ``shards`` name them; ``detail``, if given, is the whole message instead of the default.
    """

    def __init__(self, command: str, shards: Iterable[str], detail: Optional[str] = None) -> None:
        self.command = command
        self.shards = sorted(set(shards))
        super().__init__(detail or f"{command} keys span shards {', '.join(self.shards)}; use keys with one {{hash tag}} "
                                   "to keep them together")


class KeylessCommandError(RedisError):
    """A command has no key to route by and cannot run on every shard or on any one of them; ``reason`` says why."""

    def __init__(self, command: str, reason: Optional[str] = None) -> None:
        self.command = command
        self.reason = reason or "has no key to choose a shard by and is not a fan-out command"
        super().__init__(f"{command} {self.reason}")


class DurabilityError(RedisError):
    """Too few replicas acknowledged a write within ``durable_timeout`` (``durable_writes``, Redis WAIT).

    The write may still have been applied: it reached the master, and it may reach the replicas later,
    or be lost if the master fails first. It is not retried; check before re-sending a write that is
    not idempotent. ``shard``, ``master`` ("host:port" that took the write), ``acknowledged`` (replicas
    that confirmed it), ``required``, ``timeout`` (s), ``command`` (what was sent) and ``results`` (the
    write's reply, or the batch's replies) describe it; ``cause`` is WAIT's own error, if it failed.
    """

    def __init__(self, shard: str, master: str, acknowledged: int, required: int,  # pylint: disable=too-many-arguments
                 timeout: float, command: str, results: Any = None, cause: Optional[str] = None) -> None:
        self.shard = shard
        self.master = master
        self.acknowledged = acknowledged
        self.required = required
        self.timeout = timeout
        self.command = command
        self.results = results
        self.cause = cause
        detail = f"WAIT failed ({cause}), so 0 acknowledgements are known" if cause else (
            f"acknowledged by {acknowledged} replica{'' if acknowledged == 1 else 's'}")
        super().__init__(f"{command} on shard {shard!r} (master {master}) {detail}; {required} required within "
                         f"{timeout:g} s; the write may still have been applied")


class LayoutUnavailableError(RedisConnectionError):
    """The published shard layout could not be read for its whole lease: keyed commands are refused, so that
    no write reaches a shard that a reshard has stopped routing to. ``lease`` (s) and ``cause`` (the last
    read's errors) describe it."""

    def __init__(self, lease: float, cause: Optional[str]) -> None:
        self.lease = lease
        self.cause = cause
        super().__init__(f"the shard layout could not be read from any master for {lease:g} s, so keyed commands are "
                         f"refused until it is: {cause or 'no read succeeded'}")


class LayoutChangedError(RedisError):
    """A newer shard layout was installed while a command waited out a failover, before it was sent.

    A single command is planned again on the new layout; a pipeline raises this, and nothing of it
    went to a shard after the change."""


def annotate_pipeline_error(error: BaseException, number: int, command: Sequence[Any]) -> BaseException:
    """Prefix the error as redis-py's Pipeline does: "Command # 3 (LPUSH c 3) of pipeline caused error: ...".

    ``number`` counts from 1 in the order the commands were queued; the command is cut to 100 characters.
    """
    words = " ".join(word.decode("utf-8", "replace") if isinstance(word, bytes) else str(word) for word in command)
    text = textwrap.shorten(words, width=100, placeholder="...", break_long_words=True)
    message = error.args[0] if error.args else ""
    error.args = (f"Command # {number} ({text}) of pipeline caused error: {message}",) + tuple(error.args[1:])
    return error

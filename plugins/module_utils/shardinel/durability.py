"""Durable writes: a WAIT for N replicas on the connection that carried the write (WAIT counts per connection).

No I/O here: ``send`` is a procedure (see effects) that puts the WAIT in the batch's own round trip, or after
EXEC on the transaction's connection, and ``check`` judges its reply.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from .command_keys import command_words
from .effects import Command, Procedure, SendBatch, SendTransactionThenWait
from .errors import DurabilityError


def master_label(client: Any) -> str:
    """"host:port" of a redis-py (or redis.asyncio) client's server."""
    kwargs = client.connection_pool.connection_kwargs
    return f"{kwargs.get('host')}:{kwargs.get('port')}"


class DurableWrites:
    """``replicas`` must acknowledge each write within ``timeout`` seconds, or DurabilityError is raised."""

    def __init__(self, replicas: int, timeout: float) -> None:
        self.replicas = replicas
        self.timeout = timeout
        self.wait_args = ("WAIT", replicas, max(1, math.ceil(timeout * 1000)))

    def send(self, client: Any, commands: Sequence[Command], transaction: bool) -> Procedure:
        """Run commands as one redis-py pipeline, then WAIT on its connection: (replies, WAIT's reply or error).

        Without a transaction the WAIT goes in the same round trip; with one it follows EXEC.
        """
        if transaction:
            return (yield SendTransactionThenWait(client, commands, self.wait_args))
        replies = yield SendBatch(client, list(commands) + [(self.wait_args, {})], False)
        return replies[:-1], replies[-1]

    def call(self, client: Any, shard: str, args: tuple[Any, ...], options: dict[str, Any]) -> Procedure:
        """One write and its WAIT in one round trip: the write's reply, or DurabilityError."""
        (reply,), acknowledged = yield from self.send(client, [(args, options)], False)
        if isinstance(reply, Exception):
            raise reply
        self.check(acknowledged, shard, client, str(command_words(args)[0]).upper(), reply)
        return reply

    def check(self, reply: Any, shard: str, client: Any, command: str, results: Any) -> None:
        """Raise DurabilityError unless WAIT's reply counts enough replicas (client: the one that sent it)."""
        if isinstance(reply, int) and reply >= self.replicas:
            return
        cause = str(reply) if isinstance(reply, Exception) else None
        acknowledged = reply if isinstance(reply, int) else 0
        raise DurabilityError(shard, master_label(client), acknowledged, self.replicas, self.timeout, command, results,
                              cause)


def describe(commands: Sequence[Command], transaction: bool) -> str:
    """How a DurabilityError names what was sent."""
    if transaction:
        return f"MULTI/EXEC of {len(commands)} command{'' if len(commands) == 1 else 's'}"
    if len(commands) == 1:
        return str(command_words(commands[0][0])[0]).upper()
    return f"pipeline of {len(commands)} commands"

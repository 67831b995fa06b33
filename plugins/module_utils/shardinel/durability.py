"""Durable writes: a WAIT for N replicas on the connection that carried the write (WAIT counts per connection)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from .command_keys import command_words
from .errors import DurabilityError
from .redis_import import RedisConnectionError, RedisTimeoutError

Command = tuple[tuple[Any, ...], dict[str, Any]]


class HeldConnectionPool:
    """A stand-in for a redis-py ConnectionPool under one Pipeline that keeps the connection it lends.

    The connection stays out of the pool after the Pipeline's execute() or reset(), so that a WAIT
    can follow EXEC on it; ``close()`` gives it back to the real pool.
    """

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.connection: Any = None

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self.connection is None:
            self.connection = self.pool.get_connection(*args, **kwargs)
        return self.connection

    def release(self, connection: Any) -> None:
        """Kept until close()."""

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            self.pool.release(connection)

    def __getattr__(self, name: str) -> Any:
        if name in ("pool", "connection"):
            raise AttributeError(name)
        return getattr(self.pool, name)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except
            pass


def held_pipeline(client: Any, transaction: bool, held: Optional[HeldConnectionPool] = None) -> tuple[Any, HeldConnectionPool]:
    """A redis-py pipeline of client's that keeps its connection in ``held`` (a new one unless given)."""
    held = held if held is not None else HeldConnectionPool(client.connection_pool)
    pipe = client.pipeline(transaction=transaction)
    pipe.connection_pool = held
    return pipe, held


def master_label(client: Any) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"{kwargs.get('host')}:{kwargs.get('port')}"


class DurableWrites:
    """``replicas`` must acknowledge each write within ``timeout`` seconds, or DurabilityError is raised."""

    def __init__(self, replicas: int, timeout: float) -> None:
        self.replicas = replicas
        self.timeout = timeout
        self.wait_args = ("WAIT", replicas, max(1, math.ceil(timeout * 1000)))

    def send(self, client: Any, commands: Sequence[Command], transaction: bool) -> tuple[list[Any], Any]:
        """Run commands as one redis-py pipeline, then WAIT on its connection: (replies, WAIT's reply or error).

        Without a transaction the WAIT goes in the same round trip; with one it follows EXEC.
        """
        if not transaction:
            pipe = client.pipeline(transaction=False)
            try:
                for args, options in commands:
                    pipe.execute_command(*args, **options)
                pipe.execute_command(*self.wait_args)
                replies: list[Any] = pipe.execute(raise_on_error=False)
            finally:
                pipe.reset()
            return replies[:-1], replies[-1]
        pipe, held = held_pipeline(client, True)
        try:
            for args, options in commands:
                pipe.execute_command(*args, **options)
            replies = pipe.execute(raise_on_error=False)
            return replies, self.wait(client, held)
        finally:
            pipe.reset()
            held.close()

    def wait(self, client: Any, held: HeldConnectionPool) -> Any:
        """WAIT on the connection in held: its reply, or the error it answered or failed with.

        A connection lost here comes after writes that were applied, so it is reported, not retried.
        """
        pipe, _held = held_pipeline(client, False, held)
        try:
            pipe.execute_command(*self.wait_args)
            return pipe.execute(raise_on_error=False)[0]
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            return exc
        finally:
            pipe.reset()

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

"""The asyncio client's I/O: runs the shared procedures (see shardinel.effects) with redis.asyncio's clients.

Cancellation: a task cancelled while a procedure waits closes the procedure (its ``finally`` clauses run, so a
failover pause it claimed is released); redis.asyncio drops a connection whose reply was not read, and a
connection held here for a WAIT goes back to its pool in every case.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

from ..addresses import Address
from ..effects import (AskEach, AskSentinel, Close, Command, NextMessage, Procedure, Send, SendAtOnce, SendBatch,
                       SendTransactionThenWait, Sleep, Steps, Subscribe, Together, WaitForResume)
from ..redis_import import RedisConnectionError, RedisError, RedisTimeoutError

Handler = Callable[[Any], Awaitable[Any]]


class HeldConnection:
    """A redis.asyncio ConnectionPool's stand-in under one Pipeline: it lends the one connection taken for it and
    keeps it across the Pipeline's reset(), so that a WAIT can follow EXEC on it; ``close()`` gives it back."""

    def __init__(self, pool: Any, connection: Any) -> None:
        self.pool = pool
        self.connection = connection

    @classmethod
    async def take(cls, pool: Any) -> "HeldConnection":
        try:
            connection = await pool.get_connection()
        except TypeError:  # redis-py 5.0 wants a command name
            connection = await pool.get_connection("_")
        return cls(pool, connection)

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        del args, kwargs
        return self.connection

    async def release(self, connection: Any) -> None:
        """Kept until close()."""

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            await asyncio.shield(self.pool.release(connection))

    def __getattr__(self, name: str) -> Any:
        if name in ("pool", "connection"):
            raise AttributeError(name)
        return getattr(self.pool, name)


async def held_pipeline(client: Any, transaction: bool, held: Optional[HeldConnection] = None) -> tuple[Any, HeldConnection]:
    """A redis.asyncio pipeline of client's on the connection in ``held`` (one taken from its pool unless given)."""
    held = held if held is not None else await HeldConnection.take(client.connection_pool)
    pipe = client.pipeline(transaction=transaction)
    pipe.connection_pool = held
    return pipe, held


async def wait_on_held(client: Any, held: HeldConnection, wait_args: tuple[Any, ...]) -> Any:
    """WAIT on the held connection: its reply, or the error it answered or failed with (writes were applied by then,
    so a lost connection is reported, not retried)."""
    pipe, _held = await held_pipeline(client, False, held)
    try:
        pipe.execute_command(*wait_args)
        return (await pipe.execute(raise_on_error=False))[0]
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        return exc
    finally:
        await pipe.reset()


async def _pipeline_replies(client: Any, commands: Any, transaction: bool) -> list[Any]:
    async with client.pipeline(transaction=transaction) as pipe:
        for args, options in commands:
            pipe.execute_command(*args, **options)
        return await pipe.execute(raise_on_error=False)  # type: ignore[no-any-return]


def _outcomes(results: list[Any]) -> list[Any]:
    """gather(return_exceptions=True)'s results, with any error but a Redis or socket one raised."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, (RedisError, OSError)):
            raise result
    return results


class AsyncIO:
    """``sentinel_client(address)`` is the redis.asyncio client of a Sentinel."""

    def __init__(self, sentinel_client: Callable[[Address], Any]) -> None:
        self._sentinel_client = sentinel_client
        self._handlers: dict[type, Handler] = {
            Send: self._send, SendBatch: self._send_batch, SendTransactionThenWait: self._send_transaction_then_wait,
            SendAtOnce: self._send_at_once, AskSentinel: self._ask, AskEach: self._ask_each, Sleep: self._sleep,
            WaitForResume: self._wait_for_resume, Close: self._close, Together: self._together,
            Subscribe: self._subscribe, NextMessage: self._next_message,
        }

    async def run(self, procedure: Procedure) -> Any:
        """Drive a procedure to its end: its return value, or the error it raises."""
        handlers = self._handlers
        with Steps(procedure) as steps:
            for effect in steps:
                try:
                    steps.reply(await handlers[type(effect)](effect))
                except Exception as exc:  # pylint: disable=broad-except  # the procedure decides what it means
                    steps.fail(exc)
        return steps.result()

    @staticmethod
    async def _send(effect: Send) -> Any:
        return await effect.client.execute_command(*effect.args, **effect.options)

    @staticmethod
    async def _send_batch(effect: SendBatch) -> list[Any]:
        return await _pipeline_replies(effect.client, effect.commands, effect.transaction)

    @staticmethod
    async def _send_transaction_then_wait(effect: SendTransactionThenWait) -> tuple[list[Any], Any]:
        pipe, held = await held_pipeline(effect.client, True)
        try:
            for args, options in effect.commands:
                pipe.execute_command(*args, **options)
            replies = await pipe.execute(raise_on_error=False)
            return replies, await wait_on_held(effect.client, held, effect.wait_args)
        finally:
            try:
                await pipe.reset()
            finally:
                await held.close()

    @staticmethod
    async def _send_at_once(effect: SendAtOnce) -> list[Any]:
        batches: list[tuple[Any, list[Command]]] = [(client, list(commands)) for client, commands in effect.batches]
        return _outcomes(await asyncio.gather(*(_pipeline_replies(client, commands, False) for client, commands in batches),
                                              return_exceptions=True))

    async def _ask(self, effect: AskSentinel) -> Any:
        return await self._sentinel_client(effect.address).execute_command(*effect.args)

    async def _ask_each(self, effect: AskEach) -> dict[Address, Any]:
        replies = await asyncio.gather(*(self._sentinel_client(address).execute_command(*effect.args)
                                         for address in effect.addresses), return_exceptions=True)
        return dict(zip(effect.addresses, _outcomes(replies)))

    @staticmethod
    async def _subscribe(effect: Subscribe) -> None:
        await effect.pubsub.subscribe(*effect.channels)

    @staticmethod
    async def _next_message(effect: NextMessage) -> Any:
        return await effect.pubsub.get_message(timeout=effect.timeout)

    @staticmethod
    async def _sleep(effect: Sleep) -> None:
        await asyncio.sleep(effect.seconds)

    @staticmethod
    async def _wait_for_resume(effect: WaitForResume) -> bool:
        event = effect.pause.event
        if effect.timeout <= 0:
            return bool(event.is_set())
        try:
            await asyncio.wait_for(event.wait(), effect.timeout)
        except asyncio.TimeoutError:
            return False
        return True

    @staticmethod
    async def _close(effect: Close) -> None:
        for client in effect.clients:
            try:
                await client.aclose()
            except (RedisError, OSError):
                pass

    async def _together(self, effect: Together) -> list[Any]:
        results = await asyncio.gather(*(self.run(procedure) for procedure in effect.procedures), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

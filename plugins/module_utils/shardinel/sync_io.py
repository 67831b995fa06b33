"""The sync client's I/O: runs the shared procedures (see effects) with redis-py's blocking clients."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from .addresses import Address
from .effects import (AskEach, AskSentinel, Close, NextMessage, Procedure, Send, SendAtOnce, SendBatch,
                      SendTransactionThenWait, Sleep, Steps, Subscribe, Together, WaitForResume)
from .redis_import import RedisConnectionError, RedisError, RedisTimeoutError
from .shard_batches import send_at_once


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


def wait_on_held(client: Any, held: HeldConnectionPool, wait_args: tuple[Any, ...]) -> Any:
    """WAIT on the connection in held: its reply, or the error it answered or failed with.

    A connection lost here comes after writes that were applied, so it is reported, not retried.
    """
    pipe, _held = held_pipeline(client, False, held)
    try:
        pipe.execute_command(*wait_args)
        return pipe.execute(raise_on_error=False)[0]
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        return exc
    finally:
        pipe.reset()


class SyncIO:
    """``sentinel_client(address)`` is the redis-py client of a Sentinel; ``executor()`` the thread pool that runs
    procedures Together."""

    def __init__(self, sentinel_client: Callable[[Address], Any], executor: Callable[[], ThreadPoolExecutor]) -> None:
        self._sentinel_client = sentinel_client
        self._executor = executor
        self._handlers: dict[type, Callable[[Any], Any]] = {
            Send: self._send, SendBatch: self._send_batch, SendTransactionThenWait: self._send_transaction_then_wait,
            SendAtOnce: self._send_at_once, AskSentinel: self._ask, AskEach: self._ask_each, Sleep: self._sleep,
            WaitForResume: self._wait_for_resume, Close: self._close, Together: self._together,
            Subscribe: self._subscribe, NextMessage: self._next_message,
        }

    def run(self, procedure: Procedure) -> Any:
        """Drive a procedure to its end: its return value, or the error it raises."""
        handlers = self._handlers
        with Steps(procedure) as steps:
            for effect in steps:
                try:
                    steps.reply(handlers[type(effect)](effect))
                except Exception as exc:  # pylint: disable=broad-except  # the procedure decides what it means
                    steps.fail(exc)
        return steps.result()

    @staticmethod
    def _send(effect: Send) -> Any:
        return effect.client.execute_command(*effect.args, **effect.options)

    @staticmethod
    def _send_batch(effect: SendBatch) -> list[Any]:
        pipe = effect.client.pipeline(transaction=effect.transaction)
        try:
            for args, options in effect.commands:
                pipe.execute_command(*args, **options)
            return pipe.execute(raise_on_error=False)  # type: ignore[no-any-return]
        finally:
            pipe.reset()

    @staticmethod
    def _send_transaction_then_wait(effect: SendTransactionThenWait) -> tuple[list[Any], Any]:
        pipe, held = held_pipeline(effect.client, True)
        try:
            for args, options in effect.commands:
                pipe.execute_command(*args, **options)
            replies = pipe.execute(raise_on_error=False)
            return replies, wait_on_held(effect.client, held, effect.wait_args)
        finally:
            pipe.reset()
            held.close()

    @staticmethod
    def _send_at_once(effect: SendAtOnce) -> list[Any]:
        return send_at_once(effect.batches)

    def _ask(self, effect: AskSentinel) -> Any:
        return self._sentinel_client(effect.address).execute_command(*effect.args)

    def _ask_each(self, effect: AskEach) -> dict[Address, Any]:
        replies: dict[Address, Any] = {}
        for address in effect.addresses:
            try:
                replies[address] = self._sentinel_client(address).execute_command(*effect.args)
            except (RedisError, OSError) as exc:
                replies[address] = exc
        return replies

    @staticmethod
    def _subscribe(effect: Subscribe) -> None:
        effect.pubsub.subscribe(*effect.channels)

    @staticmethod
    def _next_message(effect: NextMessage) -> Any:
        return effect.pubsub.get_message(timeout=effect.timeout)

    @staticmethod
    def _sleep(effect: Sleep) -> None:
        time.sleep(effect.seconds)

    @staticmethod
    def _wait_for_resume(effect: WaitForResume) -> bool:
        return bool(effect.pause.event.wait(max(0.0, effect.timeout)))

    @staticmethod
    def _close(effect: Close) -> None:
        for client in effect.clients:
            try:
                client.close()
            except (RedisError, OSError):
                pass

    def _together(self, effect: Together) -> list[Any]:
        futures = [self._executor().submit(self.run, procedure) for procedure in effect.procedures]
        results: list[Any] = []
        first: Optional[BaseException] = None
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # pylint: disable=broad-except
                first = first or exc
        if first is not None:
            raise first
        return results

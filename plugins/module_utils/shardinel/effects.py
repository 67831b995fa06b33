"""The I/O that the client's shared logic asks for, as values (no I/O here, no Redis library imported).

Every procedure of the client (a command's failover handling, key pulls during a reshard, layout reads, questions
to the Sentinels, pipelines) is a generator: it yields one of these requests and is sent its result, or has its
error thrown in, where it yielded. ShardedSentinelClient runs them with redis-py's blocking clients (sync_io),
shardinel.asyncio's client with redis.asyncio; the decisions between two requests are the same code for both.
"""

from __future__ import annotations

from typing import Any, Dict, Generator, NamedTuple, Optional, Sequence, Tuple

Procedure = Generator[Any, Any, Any]
Command = Tuple[Tuple[Any, ...], Dict[str, Any]]


class Send(NamedTuple):
    """One command on one redis-py client (a master's, a replica's or a layout reader's): its reply, or its error."""

    client: Any
    args: Tuple[Any, ...]
    options: Dict[str, Any]


class SendBatch(NamedTuple):
    """Commands as one pipeline on one connection, a MULTI/EXEC if ``transaction``: the replies, a command's error
    in its place; a connection error is raised."""

    client: Any
    commands: Sequence[Command]
    transaction: bool


class SendTransactionThenWait(NamedTuple):
    """A MULTI/EXEC of ``commands``, then ``wait_args`` (WAIT) on the same connection: (replies, WAIT's reply or the
    connection error it failed with; writes were applied by then, so that error is returned, not raised)."""

    client: Any
    commands: Sequence[Command]
    wait_args: Tuple[Any, ...]


class SendAtOnce(NamedTuple):
    """Several clients' batches (no transaction), every one written before any reply is read, so that the servers
    work at the same time: for each (client, commands), its replies or the error that stopped it."""

    batches: Sequence[Tuple[Any, Sequence[Command]]]


class AskSentinel(NamedTuple):
    """One command to the Sentinel at ``address`` (redis-py's raw reply, no response callback)."""

    address: Tuple[str, int]
    args: Tuple[Any, ...]


class AskEach(NamedTuple):
    """The same command to each Sentinel: {address: its reply or its error}, in the order of ``addresses``."""

    addresses: Sequence[Tuple[str, int]]
    args: Tuple[Any, ...]


class Subscribe(NamedTuple):
    """SUBSCRIBE to ``channels`` on a redis-py PubSub (its confirmations come as messages)."""

    pubsub: Any
    channels: Tuple[str, ...]


class NextMessage(NamedTuple):
    """The PubSub's next message within ``timeout`` s, or None."""

    pubsub: Any
    timeout: float


class Sleep(NamedTuple):
    seconds: float


class WaitForResume(NamedTuple):
    """Wait up to ``timeout`` s for a FailoverPause to open: True if it did."""

    pause: Any
    timeout: float


class Close(NamedTuple):
    """Close these redis-py clients (a replaced master's, its replicas'); errors are ignored."""

    clients: Sequence[Any]


class Together(NamedTuple):
    """Run these procedures at the same time: their results in order; once all ended, the first error in order is
    raised."""

    procedures: Sequence[Procedure]


class Steps:
    """A procedure being run: iterate for the effect it waits on, then ``reply(result)`` or ``fail(error)``; once it
    ended, ``result()`` is its return value or raises its error. As a context manager it closes the procedure on
    the way out, so that a run stopped by an error of the shell's (a cancelled task) runs its ``finally`` clauses."""

    def __init__(self, procedure: Procedure) -> None:
        self._procedure = procedure
        self._effect: Any = None
        self._done = False
        self._value: Any = None
        self._error: Optional[BaseException] = None
        self._advance(procedure.send, None)

    def _advance(self, step: Any, argument: Any) -> None:
        try:
            self._effect = step(argument)
        except StopIteration as stop:
            self._done, self._value = True, stop.value
        except BaseException as exc:  # pylint: disable=broad-except  # the procedure's own error, raised by result()
            self._done, self._error = True, exc

    def __iter__(self) -> "Steps":
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        return self._effect

    def reply(self, value: Any) -> None:
        self._advance(self._procedure.send, value)

    def fail(self, error: BaseException) -> None:
        self._advance(self._procedure.throw, error)

    def result(self) -> Any:
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._value

    def __enter__(self) -> "Steps":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._procedure.close()


def send(client: Any, args: Tuple[Any, ...], options: Dict[str, Any]) -> Procedure:
    """A procedure of one Send, for the places that take an action(client) procedure."""
    return (yield Send(client, args, options))

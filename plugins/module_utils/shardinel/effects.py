"""The I/O that the client's shared logic asks for, as values (no I/O here, no Redis library imported).

Every procedure of the client (a command's failover handling, key pulls during a reshard, layout reads, questions
to the Sentinels, pipelines) is a generator: it yields one of these requests and is sent its result, or has its
error thrown in, where it yielded. ShardedSentinelClient runs them with redis-py's blocking clients (sync_io),
shardinel.asyncio's client with redis.asyncio; the decisions between two requests are the same code for both.
"""

from __future__ import annotations

from typing import Any, Dict, Generator, NamedTuple, Sequence, Tuple

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


def send(client: Any, args: Tuple[Any, ...], options: Dict[str, Any]) -> Procedure:
    """A procedure of one Send, for the places that take an action(client) procedure."""
    return (yield Send(client, args, options))

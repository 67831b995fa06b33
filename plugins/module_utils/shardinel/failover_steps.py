"""Following failovers, as procedures (see effects; no I/O here).

- ``with_failover``: one action on a shard's master (or a replica), retried for up to ``failover_timeout`` after a
  connection error, a timeout or READONLY, each time after asking the Sentinels where the master is now.
- ``wait_out_pause``: a command for a shard that a Sentinel is failing over waits until +switch-master, the
  failover's abort, or the deadline, after which one waiter asks the Sentinels and lets every waiter go.
- ``follow_event``: what a Sentinel's event changes (failover_events): a new master, a pause, its end.
- ``resync``: every shard's master asked again, after each (re)subscription to a Sentinel's events.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from .client_core import FAILOVER_ERRORS, ClientCore, Shard
from .effects import Close, Procedure, Sleep, WaitForResume
from .errors import DurabilityError, ShardUnavailableError
from .failover_events import ABORT, START, SWITCH, FailoverEvent
from .layout import Layout
from .redis_import import AuthenticationError, RedisConnectionError, RedisError, RedisTimeoutError

Action = Callable[[Any], Procedure]


def ask_master(core: ClientCore, shard: Shard, raise_auth: bool = False) -> Procedure:
    """Ask the Sentinels for the shard's master and move to it; an unanswered question leaves the shard as it is."""
    try:
        address = yield from core.directory.master_address(shard.name)
    except AuthenticationError:
        if raise_auth:
            raise
        return
    except RedisError:
        return
    replaced = core.set_master(shard.name, address)
    if replaced:
        yield Close(replaced)


def resync(core: ClientCore) -> Procedure:
    for name in list(core.shards):
        yield from ask_master(core, core.shards[name])


def follow_event(core: ClientCore, sentinel: str, event: FailoverEvent) -> Procedure:
    """A +switch-master moves the shard and ends its pause; the leader's failover start pauses the shard unless the
    client already left the master being replaced; its abort ends its own hold, after asking where the master is."""
    shard = core.shards.get(event.shard)
    if shard is None:
        return
    if event.kind == SWITCH:
        replaced = core.set_master(event.shard, event.address)
        shard.pause.release_all()
        if replaced:
            yield Close(replaced)
    elif event.kind == START:
        if not core.closed and shard.address == event.address:
            shard.pause.hold(sentinel, core.failover_timeout)
    elif event.kind == ABORT and shard.pause.holds(sentinel):
        yield from ask_master(core, shard)
        shard.pause.release(sentinel)


def wait_out_pause(core: ClientCore, shard: Shard) -> Procedure:
    """Wait while a failover holds the shard; past the deadline one waiter re-asks the Sentinels and releases it."""
    pause = shard.pause
    while pause.paused and not core.closed:
        if (yield WaitForResume(pause, min(pause.deadline - time.monotonic(), core.failover_timeout))):
            break
        if pause.claim_expiry():
            try:
                yield from ask_master(core, shard)
            finally:
                pause.release_all()
        else:
            yield WaitForResume(pause, 0.05)
    if core.closed:
        raise core.closed_error()


def ready_shard(core: ClientCore, name: str) -> Procedure:
    """The shard, once no failover holds it (for callers that use its redis-py client directly)."""
    shard = core.shard(name)
    if shard.pause.paused:
        yield from wait_out_pause(core, shard)
    return shard


def replica_of(core: ClientCore, shard: Shard) -> Procedure:
    """The next of the shard's healthy replicas, asked of the Sentinels when not known; None if it has none."""
    if shard.replicas is None:
        try:
            addresses = yield from core.directory.replica_addresses(shard.name)
        except RedisError:
            addresses = []
        replaced = core.set_replicas(shard, addresses)
        if replaced:
            yield Close(replaced)
    return core.next_replica(shard)


def with_failover(core: ClientCore, shard_name: str, action: Action, read_only: bool = False,
                  routing: Optional[Layout] = None) -> Procedure:
    """Run the procedure action(client) against the shard, re-asking Sentinel and retrying on failover errors.

    Errors of any kind raised while the shard's client was being replaced are retried at once, except
    DurabilityError: that write was sent, and is never sent twice. A command planned on ``routing`` that had to
    wait (a failover pause, a retry) raises LayoutChangedError if a newer layout was installed meanwhile, instead
    of going to a shard the new layout moved its keys from.
    """
    shard = core.shard(shard_name)
    deadline: Optional[float] = None
    delay = 0.02
    waited = False
    while True:
        if shard.pause.paused:
            yield from wait_out_pause(core, shard)
            waited = True
        if waited:
            yield from core.still_current(routing)
        waited = True
        client = shard.client
        try:
            if read_only:
                replica = yield from replica_of(core, shard)
                if replica is not None:
                    try:
                        return (yield from action(replica))
                    except AuthenticationError:
                        raise
                    except (RedisConnectionError, RedisTimeoutError):
                        shard.replicas = None
            return (yield from action(client))
        except (AuthenticationError, DurabilityError):
            raise
        except (RedisError, OSError, ValueError, AttributeError) as exc:  # AttributeError: a client being closed
            swapped = shard.client is not client
            if not swapped and not isinstance(exc, FAILOVER_ERRORS):
                raise
            now = time.monotonic()
            deadline = now + core.failover_timeout if deadline is None else deadline
            if now >= deadline or core.closed:
                raise ShardUnavailableError(shard_name, core.directory.labels, exc) from exc
            if swapped:
                continue
            if shard.client is client:
                yield from ask_master(core, shard, raise_auth=True)
            yield Sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 0.25)

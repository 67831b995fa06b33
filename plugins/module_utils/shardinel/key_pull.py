"""While a reshard runs: where a command on a moving slot goes, and moving its keys to their new owner first.

Clients learn a migrating layout at different moments, up to its lease apart, and a client that still
routes on the previous layout writes to the previous owner. So nobody moves a key off a previous owner
before the reshard step marks it (layout.MOVING_KEY, set once the lease has passed). Until then a command
whose moving keys all live on one previous owner runs there, inside a script that first reads the mark
(one round trip, atomic with the command); other commands, pipelines and transactions wait for the mark.

Once the owner is marked, the keys are pulled: MIGRATE (no COPY, no REPLACE) moves them atomically on the
previous owner, which blocks while the new owner restores them, so a key is never lost between the two
and a delete that follows cannot be undone by a copy in flight. NOKEY: nothing was there (moved already,
or no such key). BUSYKEY: the new owner holds a newer copy (written there after the mark), so the
previous owner's copy is stale and is deleted. The reshard step copies with the same rule, so neither
ever replaces a newer value.

No I/O here: these are procedures (see effects) of a ClientCore, which holds the marks seen.
"""

from __future__ import annotations

import time
from typing import Any

from .client_core import ClientCore
from .effects import Procedure, SendBatch, Sleep, send
from .errors import LayoutUnavailableError, ShardUnavailableError
from .failover_steps import ask_master, with_failover
from .layout import LAYOUT_DB, LEASE_MARGIN_S, MOVING_KEY, Layout
from .redis_import import ResponseError
from .slots import key_slot

# MIGRATE's errors that come from the new owner: it is failing over, restarting or unreachable.
TARGET_FAILOVER_ERRORS = ("IOERR", "READONLY", "LOADING", "MASTERDOWN", "Connection refused")
MOVE_ROUNDS = 3
MOVING_REPLY = "SHARDINELMOVING"
# ARGV: layout db, layout version, the application's db, then the command (none: only read the mark).
GUARD_SCRIPT = (
    "redis.call('SELECT', ARGV[1]) "
    f"local moving = redis.call('GET', '{MOVING_KEY}') "
    f"if moving and tonumber(moving) >= tonumber(ARGV[2]) then return {{err = '{MOVING_REPLY}'}} end "
    "redis.call('SELECT', ARGV[3]) "
    "if #ARGV == 3 then return 0 end "
    "return redis.call(unpack(ARGV, 4))"
)
Groups = dict[tuple[str, str], list[Any]]


def moving_groups(routing: Layout, keys: list[Any]) -> Groups:
    """(previous owner, new owner) -> the keys in slots that move between them."""
    groups: Groups = {}
    for key in keys:
        slot = key_slot(key)
        if routing.is_moving(slot):
            groups.setdefault((routing.previous_owners[slot], routing.owners[slot]), []).append(key)
    return groups


def route(core: ClientCore, routing: Layout, args: tuple[Any, ...], options: dict[str, Any], keys: list[Any],
          read_only: bool = False) -> Procedure:
    """For one command: (ran, its reply, keys were pulled). ran is True when it already ran, on either owner."""
    groups = moving_groups(routing, keys)
    if not groups:
        return False, None, False
    sources = {old for old, _new in groups}
    pending = [source for source in sources if (routing.version, source) not in core.marked]
    if not pending and read_only and len(keys) == 1:
        found, reply = yield from _read_moved(core, routing, list(groups)[0][1], keys[0], args, options)
        if found:
            return True, reply, False
    if pending:
        if len(sources) == 1 and sum(len(moving) for moving in groups.values()) == len(keys):
            ran, reply = yield from _run_on_previous_owner(core, routing, pending[0], args, options)
            if ran:
                return True, reply, False
        else:
            yield from wait_for_marks(core, routing, pending)
    yield from _pull_groups(core, routing, groups)
    return False, None, True


def _read_moved(core: ClientCore, routing: Layout, new: str, key: Any, args: tuple[Any, ...],
                options: dict[str, Any]) -> Procedure:
    """A read of one key whose previous owner is marked: on the new owner, if the key is there already.

    Once marked, the previous owner takes no write, so a copy on the new owner is the newest one."""
    def read(client: Any) -> Procedure:
        return (yield SendBatch(client, [(("EXISTS", key), {}), (args, options)], False))

    exists, reply = yield from with_failover(core, new, read, routing=routing)
    if isinstance(exists, Exception) or not int(exists):
        return False, None
    if isinstance(reply, Exception):
        raise reply
    return True, reply


def pull(core: ClientCore, routing: Layout, keys: list[Any]) -> Procedure:
    """For pipelines and transactions: wait for the previous owners' marks, then move the keys."""
    groups = moving_groups(routing, keys)
    pending = [old for old, _new in groups if (routing.version, old) not in core.marked]
    if pending:
        yield from wait_for_marks(core, routing, sorted(set(pending)))
    yield from _pull_groups(core, routing, groups)


def _guard(core: ClientCore, routing: Layout, source: str, command: tuple[Any, ...]) -> Procedure:
    settings = core.settings
    script = ("EVAL", GUARD_SCRIPT, 0, LAYOUT_DB, routing.version, settings.db, *command)
    durable = core.durable_for(command) if command else None
    if durable is not None:
        return (yield from with_failover(core, source, lambda client: durable.call(client, source, script, {}),
                                         routing=routing))
    return (yield from with_failover(core, source, lambda client: send(client, script, {}), routing=routing))


def _run_on_previous_owner(core: ClientCore, routing: Layout, source: str, args: tuple[Any, ...],
                           options: dict[str, Any]) -> Procedure:
    try:
        reply = yield from _guard(core, routing, source, args)
    except ResponseError as exc:
        if MOVING_REPLY not in str(exc):
            raise
        core.marked.add((routing.version, source))
        return False, None
    callback = core.shard(source).client.response_callbacks.get(str(args[0]).upper())
    return True, (callback(reply, **options) if callback is not None else reply)


def wait_for_marks(core: ClientCore, routing: Layout, sources: list[str]) -> Procedure:
    """Until the reshard step marked every source; it does so lease + margin after it published the layout."""
    deadline = time.monotonic() + routing.lease_s + LEASE_MARGIN_S + core.failover_timeout
    for source in sources:
        while (routing.version, source) not in core.marked:
            try:
                yield from _guard(core, routing, source, ())
            except ResponseError as exc:
                if MOVING_REPLY not in str(exc):
                    raise
                core.marked.add((routing.version, source))
                break
            if time.monotonic() >= deadline:
                raise LayoutUnavailableError(routing.lease_s, f"the reshard to layout version {routing.version} has not "
                                             f"started moving keys off shard {source!r}; a pipeline or transaction on "
                                             "its moving keys waits for that (re-run the reshard step if it stopped)")
            yield Sleep(0.05)


def _pull_groups(core: ClientCore, routing: Layout, groups: Groups) -> Procedure:
    for (old, new), moving in groups.items():
        yield from _move(core, old, new, moving, routing)


def _auth(core: ClientCore) -> tuple[Any, ...]:
    settings = core.settings
    if settings.password is None:
        return ()
    return ("AUTH2", settings.username, settings.password) if settings.username else ("AUTH", settings.password)


def _move(core: ClientCore, old: str, new: str, keys: list[Any], routing: Layout) -> Procedure:
    target = core.shard(new)
    timeout_ms = max(1, int(core.settings.socket_timeout * 1000))
    deadline = None
    rounds = 0
    while True:
        host, port = target.address
        command = ("MIGRATE", host, port, "", core.settings.db, timeout_ms, *_auth(core), "KEYS", *keys)
        try:
            yield from with_failover(core, old, lambda client: send(client, command, {}), routing=routing)
            return
        except ResponseError as exc:
            text = str(exc)
            if "BUSYKEY" in text and rounds < MOVE_ROUNDS:
                rounds += 1
                yield from _drop_stale(core, old, new, keys, routing)
                continue
            if not any(marker in text for marker in TARGET_FAILOVER_ERRORS):
                raise
            now = time.monotonic()
            deadline = now + core.failover_timeout if deadline is None else deadline
            if now >= deadline:
                raise ShardUnavailableError(new, core.directory.labels, exc) from exc
            yield from ask_master(core, target, raise_auth=True)
            yield Sleep(0.05)


def _drop_stale(core: ClientCore, old: str, new: str, keys: list[Any], routing: Layout) -> Procedure:
    """Delete on the previous owner the keys that the new owner already holds."""
    def exists_each(client: Any) -> Procedure:
        replies = yield SendBatch(client, [(("EXISTS", key), {}) for key in keys], False)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    held = yield from with_failover(core, new, exists_each, routing=routing)
    stale = [key for key, count in zip(keys, held) if int(count)]
    if stale:
        yield from with_failover(core, old, lambda client: send(client, ("DEL", *stale), {}), routing=routing)

"""Running one command over the shards, as procedures (see effects; no I/O here).

The command table is read from the first shard once; a command is planned (command_plans) on the layout of the
moment, and each part goes to its shard with the failover handling (failover_steps), the key pulls of a reshard
in progress (key_pull) and, with durable_writes, a WAIT. The parts of a split or fan-out command go to their
shards at once; SCAN walks the shards in turn.
"""

from __future__ import annotations

from typing import Any, Optional

from . import key_pull
from .client_core import READ_ONLY_COMMANDS, ClientCore
from .command_keys import command_words
from .command_plans import ANY_SHARD, FANOUT_MERGES, SPLIT_COMMANDS, Plan, command_label
from .durability import describe
from .effects import Command, Procedure, SendAtOnce, SendBatch, Together, send
from .errors import LayoutChangedError
from .failover_steps import with_failover
from .layout import Layout
from .redis_import import AuthenticationError, ReadOnlyError

Batches = dict[str, list[Command]]


def ensure_table(core: ClientCore) -> Procedure:
    """Read the servers' COMMAND table once (key positions, write flags)."""
    if not core.command_keys.loaded:
        table = yield from with_failover(core, core.names[0], lambda client: send(client, ("COMMAND",), {}))
        core.command_keys.load(table)


def single_key_commands(core: ClientCore) -> Procedure:
    """Commands whose only key is their first argument (GET, SET, HSET, ...): routed by it without a plan."""
    yield from ensure_table(core)
    return core.single_key_set()


def _server_keys(core: ClientCore, args: tuple[Any, ...]) -> Procedure:
    """The keys of a command with movable keys, as the server finds them (COMMAND GETKEYS)."""
    words = command_words(args)
    keys = yield from with_failover(core, core.names[0], lambda client: send(client, ("COMMAND GETKEYS", *words), {}))
    return list(keys)


def plan(core: ClientCore, args: tuple[Any, ...], transaction: bool = False, routing: Optional[Layout] = None) -> Procedure:
    """The command's Plan on ``routing`` (the current layout if None)."""
    yield from ensure_table(core)
    routing = routing or core.routing
    keys = None
    if len(routing.all_shards) > 1 and core.command_keys.movable(args):
        keys = yield from _server_keys(core, args)
    return core.plan(args, transaction, routing, keys)


def part_keys(core: ClientCore, args: tuple[Any, ...]) -> Procedure:
    """The keys of one planned part (a split command's share; a fan-out has none)."""
    label = command_label(args)
    if label in SPLIT_COMMANDS:
        return list(args[1::2]) if label == "MSET" else list(args[1:])
    if label in FANOUT_MERGES or label in ANY_SHARD:
        return []
    keys = None
    if core.command_keys.movable(args):
        keys = yield from _server_keys(core, args)
    return core.command_keys.keys(args, keys)


def execute(core: ClientCore, args: tuple[Any, ...], options: dict[str, Any]) -> Procedure:
    """One command, planned again if a newer layout came while it waited out a failover."""
    while True:
        routing = yield from core.current_routing()
        planned: Plan = yield from plan(core, args, routing=routing)
        core.update_fast_commands()
        try:
            if len(planned.parts) == 1:
                shard, part = planned.parts[0]
                return planned.merge([(yield from call(core, shard, part, options, routing))])
            return planned.merge((yield from map_parts(core, planned.parts, options, routing)))
        except LayoutChangedError:
            continue


def call(core: ClientCore, shard_name: str, args: tuple[Any, ...], options: dict[str, Any],
         routing: Optional[Layout] = None) -> Procedure:
    """One part on its shard: pulled first while its keys move, with WAIT when durable, from a replica if allowed."""
    moved = False
    if routing is not None and routing.previous is not None:
        keys = yield from part_keys(core, args)
        ran, reply, moved = yield from key_pull.route(core, routing, args, options, keys, args[0] in READ_ONLY_COMMANDS)
        if ran:
            return reply
    durable = core.durable_for(args)
    if durable is not None:
        return (yield from with_failover(core, shard_name, lambda client: durable.call(client, shard_name, args, options),
                                         routing=routing))
    read_only = core.read_from_replicas and args[0] in READ_ONLY_COMMANDS and not moved
    return (yield from with_failover(core, shard_name, lambda client: send(client, args, options), read_only, routing))


def run_batch(core: ClientCore, shard_name: str, commands: list[Command], transaction: bool,
              routing: Optional[Layout] = None) -> Procedure:
    """One shard's share of a pipeline; with durable_writes, a batch that writes ends with WAIT."""
    if routing is not None and routing.previous is not None:
        keys: list[Any] = []
        for args, _options in commands:
            keys.extend((yield from part_keys(core, args)))
        yield from key_pull.pull(core, routing, keys)
    durable = core.durable
    if durable is not None and not any(core.command_keys.is_write(args) for args, _options in commands):
        durable = None

    def run(client: Any) -> Procedure:
        acknowledged = None
        if durable is not None:
            results, acknowledged = yield from durable.send(client, commands, transaction)
        else:
            results = yield SendBatch(client, commands, transaction)
        for result in results:
            if isinstance(result, ReadOnlyError):
                raise result
        if durable is not None:
            durable.check(acknowledged, shard_name, client, describe(commands, transaction), results)
        return results
    return (yield from with_failover(core, shard_name, run, routing=routing))


def map_parts(core: ClientCore, parts: list[tuple[str, tuple[Any, ...]]], options: dict[str, Any],
              routing: Optional[Layout] = None) -> Procedure:
    """The replies of a split or fan-out command's parts, in the order of the parts."""
    if len(parts) < 2:
        alone = []
        for shard, part in parts:
            alone.append((yield from call(core, shard, part, options, routing)))
        return alone
    replies = yield from run_batches(core, {shard: [(part, options)] for shard, part in parts}, routing)
    results = []
    for shard, _part in parts:
        reply = replies[shard][0]
        if isinstance(reply, Exception):
            raise reply
        results.append(reply)
    return results


def run_batches(core: ClientCore, batches: Batches, routing: Optional[Layout] = None) -> Procedure:
    """Several shards' non-transactional batches: their replies by shard, each command's error in its place.

    Sent at once to every shard that needs no failover, WAIT, replica or reshard handling; a shard that failed
    there, or needs that handling, goes through run_batch (all of them at the same time)."""
    replies: dict[str, list[Any]] = {}
    direct = [name for name in batches if core.sends_at_once(name, routing)]
    if len(direct) > 1:
        outcomes = yield SendAtOnce([(core.shards[name].client, batches[name]) for name in direct])
        for name, outcome in zip(direct, outcomes):
            if isinstance(outcome, list) and not any(isinstance(reply, ReadOnlyError) for reply in outcome):
                replies[name] = outcome
            elif isinstance(outcome, AuthenticationError):
                raise outcome
    rest = [name for name in batches if name not in replies]
    if len(rest) > 1:
        results = yield Together([run_batch(core, name, batches[name], False, routing) for name in rest])
        replies.update(zip(rest, results))
    elif rest:
        replies[rest[0]] = yield from run_batch(core, rest[0], batches[rest[0]], False, routing)
    return replies


def scan(core: ClientCore, cursor: int, match: Any, count: Optional[int], _type: Optional[str],
         options: dict[str, Any]) -> Procedure:
    """SCAN over every shard in turn; the cursor is inner_cursor * shard_count + shard_index.

    A call that finishes a shard goes on with the next one until it has ``count`` (default 10) keys, so that a
    small keyspace comes back in one call, as from one server."""
    total = len(core.names)
    index, inner = int(cursor) % total, int(cursor) // total
    words: list[Any] = []
    if match is not None:
        words += ["MATCH", match]
    if count is not None:
        words += ["COUNT", count]
    if _type is not None:
        words += ["TYPE", _type]
    found: list[Any] = []
    while True:
        next_inner, keys = yield from call(core, core.names[index], ("SCAN", inner, *words), options)
        found.extend(keys)
        if int(next_inner) != 0:
            return int(next_inner) * total + index, found
        index, inner = index + 1, 0
        if index == total:
            return 0, found
        if len(found) >= (count or 10):
            return index, found

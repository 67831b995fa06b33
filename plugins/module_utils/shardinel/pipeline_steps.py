"""Pipelines over shards, as procedures (see effects; no I/O here): the sync and the asyncio ShardedPipeline queue
commands as redis-py's do and hand them to ``execute_queue``; after ``watch()`` they run on the watched shard's
own redis-py pipeline, and ``watch_shard``/``check_bound`` keep every command on that shard.

A queued single-key command is routed by its key alone; every other one is planned (command_plans). Without a
transaction each shard's share is one batch, all shards at once, split commands split; a transaction (MULTI/EXEC)
must find its keyed commands on one shard, and runs the keyless ones that any server answers there too.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from . import key_pull
from .client_core import ClientCore
from .command_plans import Plan, command_label, transaction_shard
from .command_steps import Batches, part_keys, plan, run_batch, run_batches, single_key_commands
from .effects import Command, Procedure
from .errors import CrossShardError, annotate_pipeline_error
from .layout import Layout
from .redis_import import ResponseError
from .slots import key_slot

Planned = Union[Plan, str]  # a Plan, or for a single-key command just its shard's name


def _identity(replies: list[Any]) -> Any:
    return replies[0]


def _wait_plan(args: tuple[Any, ...], shards: list[str]) -> Plan:
    """WAIT goes to every shard written to earlier in this pipeline (same connection); reply = fewest acks."""
    return Plan([(shard, tuple(args)) for shard in shards], lambda replies: min((int(r) for r in replies), default=0))


def plan_queue(core: ClientCore, stack: Sequence[Command], routing: Layout, transaction: bool) -> Procedure:
    """Each queued command's Plan, or for a single-key command (GET, SET, ...) just its shard's name."""
    single = (yield from single_key_commands(core)) if len(routing.all_shards) > 1 else frozenset()
    owners = routing.owners
    plans: list[Planned] = []
    seen: dict[str, None] = {}
    for args, _options in stack:
        if args[0] in single and len(args) > 1:
            shard = owners[key_slot(args[1])]
            seen[shard] = None
            plans.append(shard)
            continue
        if str(args[0]).upper() == "WAIT" and seen:
            planned = _wait_plan(args, list(seen))
        else:
            planned = yield from plan(core, args, transaction, routing)
        seen.update((shard, None) for shard, _part in planned.parts)
        plans.append(planned)
    if not transaction:
        return plans
    keyed = [Plan([(planned, ())], _identity) if isinstance(planned, str) else planned for planned in plans]
    home = transaction_shard(keyed, routing.all_shards[0])
    if home is None:
        used = {shard for planned in keyed if not planned.floating for shard, _part in planned.parts}
        raise CrossShardError("MULTI/EXEC", used, detail=(
            f"pipeline(transaction=True), redis-py's default, is one MULTI/EXEC on one shard, and these commands "
            f"use shards {', '.join(sorted(used))}: give their keys one {{hash tag}}, or use "
            "pipeline(transaction=False) for a batch that is split by shard and not atomic"))
    return [Plan([(home, part) for _shard, part in planned.parts], planned.merge)
            if isinstance(planned, Plan) and planned.floating else planned for planned in plans]


def _batches(plans: list[Planned], stack: Sequence[Command]) -> tuple[Batches, list[Any]]:
    """Each shard's batch, and where each command's replies are in them: (shard, index), or a list of those."""
    batches: Batches = {}
    places: list[Any] = []
    for planned, (args, options) in zip(plans, stack):
        if isinstance(planned, str):
            batch = batches.setdefault(planned, [])
            places.append((planned, len(batch)))
            batch.append((args, options))
            continue
        where = []
        for shard, part in planned.parts:
            batch = batches.setdefault(shard, [])
            where.append((shard, len(batch)))
            batch.append((part, options))
        places.append(where)
    return batches, places


def _results(plans: list[Planned], places: list[Any], replies: dict[str, list[Any]], stack: Sequence[Command],
             raise_on_error: bool) -> list[Any]:
    results: list[Any] = []
    for planned, where in zip(plans, places):
        if isinstance(planned, str):
            results.append(replies[where[0]][where[1]])
            continue
        parts = [replies[shard][index] for shard, index in where]
        error = next((p for p in parts if isinstance(p, Exception)), None)
        results.append(error if error is not None else planned.merge(parts))
    if raise_on_error:
        for number, (result, (args, _options)) in enumerate(zip(results, stack), start=1):
            if isinstance(result, ResponseError):
                raise annotate_pipeline_error(result, number, args)
    return results


def execute_queue(core: ClientCore, stack: Sequence[Command], transaction: bool, raise_on_error: bool) -> Procedure:
    """The replies of a queued pipeline, in call order."""
    if not stack:
        return []
    routing = yield from core.current_routing()
    plans = yield from plan_queue(core, stack, routing, transaction)
    batches, places = _batches(plans, stack)
    if transaction or len(batches) == 1:
        replies = {}
        for shard, batch in batches.items():
            replies[shard] = yield from run_batch(core, shard, batch, transaction, routing)
    else:
        replies = yield from run_batches(core, batches, routing)
    return _results(plans, places, replies, stack, raise_on_error)


def pull_keys(core: ClientCore, routing: Layout, keys: list[Any]) -> Procedure:
    """While a reshard runs, a WATCH pipeline's keys are moved to their new owner before it uses them."""
    if routing.previous is not None:
        yield from key_pull.pull(core, routing, keys)


def watch_shard(core: ClientCore, names: Sequence[Any], bound: Optional[str]) -> Procedure:
    """The one shard of the watched keys (and of the keys watched before, ``bound``); CrossShardError otherwise."""
    routing = yield from core.current_routing()
    yield from pull_keys(core, routing, list(names))
    shards = {routing.owners[key_slot(name)] for name in names}
    if bound is not None:
        shards.add(bound)
    if len(shards) != 1:
        raise CrossShardError("WATCH", shards, detail=(
            f"WATCH keys span shards {', '.join(sorted(shards))}: a WATCH/MULTI/EXEC runs on one shard; "
            "give the keys one {hash tag}"))
    return shards.pop()


def check_bound(core: ClientCore, bound: str, args: tuple[Any, ...]) -> Procedure:
    """A command after watch() must use the watched shard (keyless ones that any server answers run there)."""
    routing = yield from core.current_routing()
    planned = yield from plan(core, args, True, routing)
    if planned.floating:
        return
    shards = {shard for shard, _part in planned.parts}
    if shards != {bound}:
        raise CrossShardError(command_label(args), shards | {bound}, detail=(
            f"{command_label(args)} uses shard {', '.join(sorted(shards))}, but this pipeline watches keys on "
            f"shard {bound}: a WATCH/MULTI/EXEC runs on one shard; give the keys one {{hash tag}}"))
    yield from pull_keys(core, routing, (yield from part_keys(core, args)))

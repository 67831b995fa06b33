"""How one command is spread over shards: the parts to send and how to merge their replies.

Split (keys grouped by shard, replies merged): MGET (values in key order), MSET (True),
DEL/UNLINK/EXISTS/TOUCH (sum). Fan-out to every shard: PING (True if all answer),
DBSIZE (sum), KEYS (concatenation, shard by shard), FLUSHDB/FLUSHALL (True if all succeed),
INFO (dict shard name -> that shard's INFO), RANDOMKEY (first shard's non-empty answer).
Every other command must have all keys on one shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .errors import CrossShardError, KeylessCommandError

Part = tuple[str, tuple[Any, ...]]


@dataclass
class Plan:
    parts: list[Part]
    merge: Callable[[list[Any]], Any]


def _first(replies: list[Any]) -> Any:
    return replies[0]


def _split(name: str, keys: Sequence[Any], width: int, route: Callable[[Any], str]) -> tuple[list[str], dict[str, list[int]]]:
    order: list[str] = []
    positions: dict[str, list[int]] = {}
    for index in range(0, len(keys), width):
        shard = route(keys[index])
        if shard not in positions:
            positions[shard] = []
            order.append(shard)
        positions[shard].append(index)
    return order, positions


def _split_plan(name: str, args: Sequence[Any], route: Callable[[Any], str], empty: Any) -> Plan:
    items = list(args[1:])
    width = 2 if name == "MSET" else 1
    if not items:
        return Plan([], lambda _replies: empty)
    order, positions = _split(name, items, width, route)
    parts = [(shard, (name, *[v for i in positions[shard] for v in items[i:i + width]])) for shard in order]
    if name == "MGET":
        def merge_values(replies: list[Any]) -> Any:
            values: list[Any] = [None] * len(items)
            for shard, reply in zip(order, replies):
                for index, value in zip(positions[shard], reply):
                    values[index] = value
            return values
        return Plan(parts, merge_values)
    if name == "MSET":
        return Plan(parts, lambda replies: all(bool(r) for r in replies))
    return Plan(parts, lambda replies: sum(int(r) for r in replies))


SPLIT_COMMANDS: dict[str, Any] = {"MGET": [], "MSET": True, "DEL": 0, "UNLINK": 0, "EXISTS": 0, "TOUCH": 0}

FANOUT_MERGES: dict[str, Callable[[list[str], list[Any]], Any]] = {
    "PING": lambda shards, replies: all(bool(r) for r in replies),
    "DBSIZE": lambda shards, replies: sum(int(r) for r in replies),
    "KEYS": lambda shards, replies: [key for reply in replies for key in reply],
    "FLUSHDB": lambda shards, replies: all(bool(r) for r in replies),
    "FLUSHALL": lambda shards, replies: all(bool(r) for r in replies),
    "INFO": lambda shards, replies: dict(zip(shards, replies)),
    "RANDOMKEY": lambda shards, replies: next((r for r in replies if r is not None), None),
}


def plan_command(args: Sequence[Any], shards: list[str], route: Callable[[Any], str],
                 keys_of: Callable[[Sequence[Any]], list[Any]], transaction: bool = False) -> Plan:
    name = args[0].upper() if isinstance(args[0], str) else str(args[0], "utf-8").upper()
    if name in SPLIT_COMMANDS and not transaction:
        return _split_plan(name, args, route, SPLIT_COMMANDS[name])
    if name in FANOUT_MERGES and not transaction:
        merge = FANOUT_MERGES[name]
        return Plan([(shard, tuple(args)) for shard in shards], lambda replies: merge(shards, replies))
    keys = keys_of(args)
    if not keys:
        raise KeylessCommandError(name)
    owners = {route(key) for key in keys}
    if len(owners) > 1:
        raise CrossShardError(name, owners)
    return Plan([(owners.pop(), tuple(args))], _first)

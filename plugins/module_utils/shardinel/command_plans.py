"""How one command is spread over shards: the parts to send and how to merge their replies (no I/O here).

With one shard every command goes to it unchanged: the client is then one server, and refuses nothing
that server would run. With several:

- Split (keys grouped by shard, replies merged): MGET (values in key order), MSET (True),
  DEL/UNLINK/EXISTS/TOUCH (sum).
- Fan-out to every shard (FANOUT_MERGES): PING, DBSIZE, KEYS, FLUSHDB/FLUSHALL, SWAPDB, RANDOMKEY (one shard's
  at random), PUBLISH, PUBSUB CHANNELS/NUMSUB/SHARDCHANNELS/SHARDNUMSUB, WAIT/WAITAOF (the fewest
  acknowledgements), and the script and function libraries
  (SCRIPT LOAD/EXISTS/FLUSH, FUNCTION LOAD/DELETE/FLUSH/RESTORE), so that EVALSHA and FCALL find them on
  whichever shard their keys live.
- Any one shard (ANY_SHARD: the same answer from every server): TIME, ECHO, PING with a message, LOLWUT,
  COMMAND and its subcommands, ACL WHOAMI/CAT/GENPASS, the HELP subcommands, FUNCTION LIST/DUMP. Inside a
  transaction these, PING and the per-connection commands (SELECT, CLIENT SETNAME, DISCARD, ...) run on
  the transaction's shard and connection.
- Every other command must have all its keys on one shard (CrossShardError otherwise); SORT's BY and GET
  patterns count as keys when their {hash tag} fixes their shard, and are refused otherwise. A keyless
  command that reads or changes one server's or one connection's state raises KeylessCommandError saying which;
  so does PUBSUB NUMPAT, whose count of distinct patterns cannot be added up over shards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from .command_keys import command_words, sort_pattern_keys
from .errors import CrossShardError, KeylessCommandError

Part = tuple[str, tuple[Any, ...]]

# Commands whose second word names the operation (CONFIG GET, SCRIPT LOAD, ...).
CONTAINERS = frozenset({"ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "FUNCTION", "LATENCY", "MEMORY", "MODULE",
                        "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO"})
ANY_SHARD = frozenset({
    "TIME", "ECHO", "LOLWUT", "COMMAND", "COMMAND COUNT", "COMMAND DOCS", "COMMAND INFO", "COMMAND LIST",
    "COMMAND GETKEYS", "COMMAND GETKEYSANDFLAGS", "ACL WHOAMI", "ACL CAT", "ACL GENPASS",
    "FUNCTION LIST", "FUNCTION DUMP",
} | {f"{name} HELP" for name in CONTAINERS})
PER_CONNECTION = frozenset({
    "SELECT", "HELLO", "AUTH", "RESET", "QUIT", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "READONLY", "READWRITE",
    "ASKING", "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "MONITOR", "CLIENT SETNAME", "CLIENT GETNAME",
    "CLIENT ID", "CLIENT INFO", "CLIENT REPLY", "CLIENT TRACKING", "CLIENT TRACKINGINFO", "CLIENT CACHING",
    "CLIENT GETREDIR", "CLIENT NO-EVICT", "CLIENT NO-TOUCH", "CLIENT SETINFO",
})
# A transaction is one connection to one shard: these run there, as on one server.
TRANSACTION_FLOATING = ANY_SHARD | PER_CONNECTION | {"PING"}
SCRIPT_CALLS = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})
SORT_COMMANDS = frozenset({"SORT", "SORT_RO"})


@dataclass
class Plan:
    parts: list[Part]
    merge: Callable[[list[Any]], Any]
    floating: bool = False  # keyless and answerable by any shard: a transaction moves it to its own shard


def _first(replies: list[Any]) -> Any:
    return replies[0]


def command_label(args: Sequence[Any]) -> str:
    """The command's name in capitals, with the subcommand of a container command: "GET", "CONFIG GET"."""
    words = command_words(args)
    name = str(words[0]).upper()
    if name in CONTAINERS and len(words) > 1:
        sub = words[1].decode("utf-8", "replace") if isinstance(words[1], bytes) else str(words[1])
        return f"{name} {sub.upper()}"
    return name


def _split_plan(name: str, args: Sequence[Any], owners_of: Callable[[Sequence[Any]], list[str]], empty: Any) -> Plan:
    items = args[1:]
    if not items:
        return Plan([], lambda _replies: empty)
    if name == "MSET":
        if len(items) % 2:
            return Plan([(owners_of(items[:1])[0], tuple(args))], _first)  # the server answers the wrong arity
        keys = items[::2]
    else:
        keys = items
    owners = owners_of(keys)
    first = owners[0]
    if owners.count(first) == len(owners):
        return Plan([(first, tuple(args))], _first)
    # One pass: each shard's arguments, and for MGET the positions its values go back to.
    shares: dict[str, list[Any]] = {}
    positions: dict[str, list[int]] = {}
    if name == "MSET":
        values = items[1::2]
        for owner, key, value in zip(owners, keys, values):
            share = shares.get(owner)
            if share is None:
                share = shares[owner] = [name]
            share.append(key)
            share.append(value)
    else:
        for index, (owner, key) in enumerate(zip(owners, keys)):
            share = shares.get(owner)
            if share is None:
                share = shares[owner] = [name]
                positions[owner] = []
            share.append(key)
            positions[owner].append(index)
    order = list(shares)
    parts = [(shard, tuple(shares[shard])) for shard in order]
    if name == "MGET":
        count = len(keys)

        def merge_values(replies: list[Any]) -> Any:
            merged: list[Any] = [None] * count
            for shard, reply in zip(order, replies):
                for index, value in zip(positions[shard], reply):
                    merged[index] = value
            return merged
        return Plan(parts, merge_values)
    if name == "MSET":
        return Plan(parts, lambda replies: all(bool(r) for r in replies))
    return Plan(parts, lambda replies: sum(int(r) for r in replies))


def _all_ok(shards: list[str], replies: list[Any]) -> Any:
    del shards
    return replies[0] if all(r == replies[0] for r in replies) else all(bool(r) for r in replies)


def _union(shards: list[str], replies: list[Any]) -> list[Any]:
    del shards
    return list(dict.fromkeys(item for reply in replies for item in reply))


def _sum_counts(shards: list[str], replies: list[Any]) -> Any:
    """PUBSUB NUMSUB / SHARDNUMSUB: the same channels in the same order from every shard; counts added."""
    del shards
    if isinstance(replies[0], dict):
        return {channel: sum(int(reply.get(channel, 0)) for reply in replies) for channel in replies[0]}
    return [(pair[0], sum(int(reply[index][1]) for reply in replies)) for index, pair in enumerate(replies[0])]


def _same_reply(shards: list[str], replies: list[Any]) -> Any:
    """SCRIPT LOAD, FUNCTION LOAD: every shard answers the same (the SHA1, the library name)."""
    del shards
    return replies[0]


SPLIT_COMMANDS: dict[str, Any] = {"MGET": [], "MSET": True, "DEL": 0, "UNLINK": 0, "EXISTS": 0, "TOUCH": 0}

FANOUT_MERGES: dict[str, Callable[[list[str], list[Any]], Any]] = {
    "PING": lambda shards, replies: all(bool(r) for r in replies),
    "DBSIZE": lambda shards, replies: sum(int(r) for r in replies),
    "KEYS": lambda shards, replies: [key for reply in replies for key in reply],
    "FLUSHDB": _all_ok,
    "FLUSHALL": _all_ok,
    "SWAPDB": _all_ok,
    "RANDOMKEY": lambda shards, replies: random.choice([r for r in replies if r is not None] or [None]),
    "PUBLISH": lambda shards, replies: sum(int(r) for r in replies),
    "PUBSUB CHANNELS": _union,
    "PUBSUB SHARDCHANNELS": _union,
    "PUBSUB NUMSUB": _sum_counts,
    "PUBSUB SHARDNUMSUB": _sum_counts,
    "WAIT": lambda shards, replies: min(int(r) for r in replies),
    "WAITAOF": lambda shards, replies: [min(int(r[0]) for r in replies), min(int(r[1]) for r in replies)],
    "SCRIPT LOAD": _same_reply,
    "SCRIPT EXISTS": lambda shards, replies: [all(found) for found in zip(*replies)],
    "SCRIPT FLUSH": _all_ok,
    "FUNCTION LOAD": _same_reply,
    "FUNCTION DELETE": _all_ok,
    "FUNCTION FLUSH": _all_ok,
    "FUNCTION RESTORE": _all_ok,
}


def keyless_reason(label: str, shards: Sequence[str], transaction: bool = False) -> str:
    """Why a keyless command cannot run on several shards (the text of KeylessCommandError)."""
    count = f"{len(shards)} shards ({', '.join(shards)})"
    if label in FANOUT_MERGES:
        return f"runs on every one of {count}, which a transaction on one shard cannot do"
    if label in SCRIPT_CALLS:
        return (f"declares no keys (numkeys 0), so the shard it must run on is unknown among {count}; "
                "declare the keys the script or function touches")
    if label in PER_CONNECTION:
        return (f"reads or changes the state of one connection, and this client sends commands over pooled "
                f"connections to {count}; use a transaction (pipeline()), pubsub() or monitor(shard) for that")
    return (f"has no key to choose a shard by and acts on one server's own state, and this client spans {count}; "
            "send it to each shard with client.shard_client(name)")


def plan_command(args: Sequence[Any], shards: Sequence[str], owners_of: Callable[[Sequence[Any]], list[str]],  # pylint: disable=too-many-arguments
                 keys_of: Callable[[Sequence[Any]], list[Any]], transaction: bool = False,
                 known: Callable[[Sequence[Any]], bool] = lambda args: True) -> Plan:
    """The parts of one command. ``owners_of(keys)`` names each key's shard, ``keys_of(args)`` lists the command's
    keys, ``known(args)`` says whether the servers know it (an unknown command goes to one shard, so that its error
    is the server's own)."""
    if len(shards) == 1:
        return Plan([(shards[0], tuple(args))], _first)
    label = command_label(args)
    name = label.split(" ", 1)[0]
    if name in SPLIT_COMMANDS and (not transaction or len(args) == 1):
        return _split_plan(name, args, owners_of, SPLIT_COMMANDS[name])
    if label in (TRANSACTION_FLOATING if transaction else ANY_SHARD) or (label == "PING" and len(args) > 1):
        return Plan([(shards[0], tuple(args))], _first, floating=True)
    if not transaction:
        merge = FANOUT_MERGES.get(label)
        if merge is not None:
            everywhere = list(shards)
            return Plan([(shard, tuple(args)) for shard in everywhere], lambda replies: merge(everywhere, replies))
    keys = keys_of(args)
    if name in SORT_COMMANDS:
        keys = keys + _sort_pattern_keys(label, args, shards)
    if not keys:
        if not known(args):
            return Plan([(shards[0], tuple(args))], _first, floating=True)
        raise KeylessCommandError(label, keyless_reason(label, shards, transaction))
    owners = set(owners_of(keys))
    if len(owners) > 1:
        raise CrossShardError(label, owners)
    return Plan([(owners.pop(), tuple(args))], _first)


def _sort_pattern_keys(label: str, args: Sequence[Any], shards: Sequence[str]) -> list[Any]:
    keys, unroutable = sort_pattern_keys(command_words(args))
    if unroutable:
        raise CrossShardError(label, shards, detail=(
            f"{label} BY/GET pattern {unroutable[0]!r} names keys that may live on any of the shards "
            f"{', '.join(shards)}; give the pattern the list's {{hash tag}} before its '*' (for example "
            "'{tag}:weight_*' with the list '{tag}:list') so that every key it names is on the list's shard"))
    return keys


def transaction_shard(plans: Sequence[Plan], default: Optional[str]) -> Optional[str]:
    """The one shard a transaction's keyed commands use (None if they span several); floating plans do not count."""
    shards = {shard for plan in plans if not plan.floating for shard, _part in plan.parts}
    if len(shards) > 1:
        return None
    return shards.pop() if shards else default

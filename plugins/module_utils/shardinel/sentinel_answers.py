"""What Sentinels answer, read one way by the client, the modules and the hosts' start helper.

- ``parse_state``: a SENTINEL MASTER, MASTERS, REPLICAS or SENTINELS entry (a RESP3 map or a flat RESP2 list) as a
  dict, its numeric fields as ints and its flags as a sorted list.
- ``newest``: of several Sentinels' states of one master, the one with the highest config epoch. The Sentinels that
  took part in a failover agree on a higher epoch than the one before; a Sentinel that missed it (restarted from an old
  config, cut off by a partition) still names the old master, with a lower epoch. Among equal epochs the first given
  wins.
- ``current_masters``: each shard's newest state over every Sentinel's SENTINEL MASTERS.

Nothing here does I/O or imports a Redis library.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterable, Mapping, Optional, Tuple, TypeVar

from .addresses import format_address

INT_FIELDS = frozenset((
    "port", "master-port", "quorum", "num-slaves", "num-other-sentinels", "config-epoch",
    "down-after-milliseconds", "failover-timeout", "parallel-syncs", "master-link-down-time",
    "slave-repl-offset", "slave-priority", "replica-priority", "info-refresh", "last-ok-ping-reply",
    "last-ping-reply", "role-reported-time", "s-down-time", "o-down-time",
))
DOWN_FLAGS = frozenset(("s_down", "o_down", "disconnected"))

Source = TypeVar("Source", bound=Hashable)


def parse_state(reply: Any) -> dict[str, Any]:
    """A Sentinel state entry as a dict; 'flags' becomes a sorted list."""
    if isinstance(reply, Mapping):
        pairs: Iterable[tuple[Any, Any]] = reply.items()
    else:
        items = list(reply)
        pairs = zip(items[0::2], items[1::2])
    state: dict[str, Any] = {}
    for key, value in pairs:
        state[key] = int(value) if key in INT_FIELDS and str(value).lstrip("-").isdigit() else value
    state["flags"] = sorted(flag for flag in str(state.get("flags", "")).split(",") if flag)
    return state


def parse_states(reply: Any) -> list[dict[str, Any]]:
    """A reply listing states (SENTINEL MASTERS, REPLICAS, SENTINELS)."""
    return [parse_state(item) for item in reply or []]


def state_address(state: Mapping[str, Any]) -> str:
    return format_address((str(state["ip"]), int(state["port"])))


def is_down(state: Mapping[str, Any]) -> bool:
    flags = state.get("flags", ())
    return bool(DOWN_FLAGS.intersection(flags.split(",") if isinstance(flags, str) else flags))


def config_epoch(state: Mapping[str, Any]) -> int:
    try:
        return int(state.get("config-epoch", 0))
    except (TypeError, ValueError):
        return 0


def newest(states: Mapping[Source, Mapping[str, Any]]) -> Optional[Tuple[Source, Mapping[str, Any]]]:
    """(source, state) of the highest config epoch among several Sentinels' states of one master; None if none."""
    best: Optional[Tuple[Source, Mapping[str, Any]]] = None
    for source, state in states.items():
        if best is None or config_epoch(state) > config_epoch(best[1]):
            best = (source, state)
    return best


def current_masters(views: Mapping[Source, Iterable[Mapping[str, Any]]]) -> dict[str, Mapping[str, Any]]:
    """{shard: its newest state} from {Sentinel: its SENTINEL MASTERS entries}."""
    by_shard: dict[str, dict[Source, Mapping[str, Any]]] = {}
    for source, masters in views.items():
        for state in masters:
            by_shard.setdefault(str(state["name"]), {})[source] = state
    chosen = {}
    for shard, states in sorted(by_shard.items()):
        found = newest(states)
        if found is not None:
            chosen[shard] = found[1]
    return chosen

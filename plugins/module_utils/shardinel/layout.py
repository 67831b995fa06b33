"""The published shard layout: which shard names clients route on, and the move in progress, if any.

The collection writes it as JSON under LAYOUT_KEY in database LAYOUT_DB of every master, so it is
replicated with the data and survives failovers and the loss of any one host; the applications'
databases (SCAN, DBSIZE, FLUSHDB) never see it. Versions only grow: a reader keeps the highest
version it has seen.

A stable layout names ``shards``. A migrating one also names ``previous``, the set the keys are
moving from: a slot whose owner differs between the two tables is moving, and clients pull its
keys from the previous owner (MIGRATE) before they use them on the new one. ``lease_s`` is how long
a client may keep routing on what it last read: a client that could not read the layout for that
long refuses keyed commands, and the reshard step waits that long (plus LEASE_MARGIN_S) after
publishing a migrating layout before it moves a key.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from .slot_table import build_slot_table

LAYOUT_KEY = "shardinel:layout"
LAYOUT_DB = 15
# On each master: the highest layout version whose keys the reshard step has started to move off it (see key_pull).
MOVING_KEY = "shardinel:moving"
DEFAULT_LEASE_S = 5.0
LEASE_MARGIN_S = 1.0


class LayoutFormatError(ValueError):
    """The stored layout is not one this client understands."""


class LayoutConflictError(RuntimeError):
    """A master already holds a newer layout than the one being written."""


class Layout:
    """An immutable published layout; ``version`` 0 is the fallback to every monitored master (nothing published)."""

    __slots__ = ("version", "shards", "previous", "lease_s", "owners", "previous_owners")

    def __init__(self, version: int, shards: Iterable[str], previous: Optional[Iterable[str]] = None,
                 lease_s: float = DEFAULT_LEASE_S) -> None:
        self.version = int(version)
        self.shards: tuple[str, ...] = tuple(sorted(set(shards)))
        self.previous: Optional[tuple[str, ...]] = tuple(sorted(set(previous))) if previous is not None else None
        self.lease_s = float(lease_s)
        self.owners = build_slot_table(self.shards)
        self.previous_owners = build_slot_table(self.previous) if self.previous is not None else self.owners

    @property
    def migrating(self) -> bool:
        return self.previous is not None

    @property
    def all_shards(self) -> tuple[str, ...]:
        """Every shard that may hold keys under this layout: the new set and, while migrating, the previous one."""
        return tuple(sorted(set(self.shards) | set(self.previous or ())))

    def is_moving(self, slot: int) -> bool:
        return self.owners[slot] != self.previous_owners[slot]

    def moving_slots(self) -> dict[tuple[str, str], list[int]]:
        """(previous owner, new owner) -> the slots that move between them."""
        pairs: dict[tuple[str, str], list[int]] = {}
        for slot, (old, new) in enumerate(zip(self.previous_owners, self.owners)):
            if old != new:
                pairs.setdefault((old, new), []).append(slot)
        return pairs

    def to_json(self) -> str:
        document: dict[str, Any] = {"version": self.version, "shards": list(self.shards), "lease_s": self.lease_s}
        if self.previous is not None:
            document["previous"] = list(self.previous)
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_json(cls, raw: Any) -> "Layout":
        try:
            document = json.loads(raw)
        except (TypeError, ValueError) as exc:
            raise LayoutFormatError(f"{LAYOUT_KEY} is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise LayoutFormatError(f"{LAYOUT_KEY} must hold a JSON object")
        version, shards = document.get("version"), document.get("shards")
        previous, lease = document.get("previous"), document.get("lease_s", DEFAULT_LEASE_S)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise LayoutFormatError(f"{LAYOUT_KEY}: version must be a positive integer, got {version!r}")
        for label, names in (("shards", shards), ("previous", previous)):
            if names is None and label == "previous":
                continue
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                raise LayoutFormatError(f"{LAYOUT_KEY}: {label} must be a non-empty list of shard names, got {names!r}")
        if isinstance(lease, bool) or not isinstance(lease, (int, float)) or lease <= 0:
            raise LayoutFormatError(f"{LAYOUT_KEY}: lease_s must be a positive number, got {lease!r}")
        return cls(version, shards, previous, lease)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layout) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        moving = f" from {list(self.previous)}" if self.previous is not None else ""
        return f"<Layout v{self.version} {list(self.shards)}{moving}>"


def parse_layout(raw: Any) -> Optional[Layout]:
    """The layout in a GET of LAYOUT_KEY's reply, or None when nothing is published."""
    return None if raw is None else Layout.from_json(raw)


def read_layout(layout_client: Any) -> Optional[Layout]:
    """The layout stored on one master, or None; ``layout_client`` is a redis-py client on database LAYOUT_DB."""
    return parse_layout(layout_client.get(LAYOUT_KEY))


def newest(layouts: Iterable[Optional[Layout]]) -> Optional[Layout]:
    """The layout with the highest version, or None if none is published."""
    found = [layout for layout in layouts if layout is not None]
    return max(found, key=lambda layout: layout.version) if found else None


def write_layout(layout_client: Any, layout: Layout, replicas: int, timeout_s: float) -> int:
    """Store the layout on one master and WAIT for ``replicas`` replicas; returns how many acknowledged it.

    A stored layout with a higher version is never replaced (checked and set in one script).
    """
    replaced = layout_client.eval(
        "local held = redis.call('GET', KEYS[1]) "
        "if held and cjson.decode(held)['version'] > tonumber(ARGV[2]) then return 0 end "
        "redis.call('SET', KEYS[1], ARGV[1]) return 1", 1, LAYOUT_KEY, layout.to_json(), layout.version)
    if not replaced:
        raise LayoutConflictError(f"{LAYOUT_KEY} on this master holds a version above {layout.version}")
    return int(layout_client.execute_command("WAIT", replicas, int(timeout_s * 1000)))


def mark_moving(layout_client: Any, version: int, replicas: int, timeout_s: float) -> int:
    """Mark one master as a previous owner whose keys now move (never lowered); WAIT for ``replicas``, return the acks."""
    layout_client.eval("local held = tonumber(redis.call('GET', KEYS[1]) or '0') "
                       "if held < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1",
                       1, MOVING_KEY, version)
    return int(layout_client.execute_command("WAIT", replicas, int(timeout_s * 1000)))

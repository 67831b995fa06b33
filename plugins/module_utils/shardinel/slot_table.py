"""Slot to shard table: rendezvous (highest random weight) hashing with equal capacities.

Every (shard, slot) pair gets a fixed 64-bit score (BLAKE2b of name and slot, never Python's
hash()). Pairs are taken best score first; a slot goes to the first shard that still has room
below ceil(16384 / N). The table depends only on the set of names, and adding a shard moves
about 1/(N+1) of the slots, like plain rendezvous hashing, while every shard holds the same
number of slots (within one).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Iterable

from .slots import SLOT_COUNT


def pair_score(name: str, slot: int) -> int:
    digest = hashlib.blake2b(name.encode("utf-8") + b"\x00" + slot.to_bytes(2, "big"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.lru_cache(maxsize=32)
def _table(names: tuple[str, ...]) -> tuple[str, ...]:
    capacity = -(-SLOT_COUNT // len(names))
    pairs = sorted(
        ((pair_score(name, slot), slot, index) for index, name in enumerate(names) for slot in range(SLOT_COUNT)),
        reverse=True,
    )
    owner = [-1] * SLOT_COUNT
    load = [0] * len(names)
    remaining = SLOT_COUNT
    for _score, slot, index in pairs:
        if owner[slot] == -1 and load[index] < capacity:
            owner[slot] = index
            load[index] += 1
            remaining -= 1
            if not remaining:
                break
    return tuple(names[i] for i in owner)


def build_slot_table(names: Iterable[str]) -> tuple[str, ...]:
    """16384 entries, entry i = name of the shard owning slot i."""
    unique = sorted(set(names))
    if not unique:
        raise ValueError("at least one shard name is needed to build a slot table")
    for name in unique:
        if not isinstance(name, str) or not name:
            raise ValueError(f"shard names must be non-empty strings, got {name!r}")
    return _table(tuple(unique))

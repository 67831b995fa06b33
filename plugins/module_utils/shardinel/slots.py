"""Key to hash slot, as Redis Cluster computes it: CRC16 (XMODEM) mod 16384, honouring {hash tags}."""

from __future__ import annotations

from binascii import crc_hqx
from typing import Iterable, Union

SLOT_COUNT = 16384

KeyT = Union[bytes, str, memoryview, int, float]


def key_bytes(key: KeyT) -> bytes:
    """The bytes redis-py sends for a key argument."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, memoryview):
        return key.tobytes()
    if isinstance(key, bool):
        raise TypeError("a key must be bytes, str, int or float, not bool")
    if isinstance(key, (int, float)):
        return repr(key).encode("utf-8")
    raise TypeError(f"a key must be bytes, str, int or float, not {type(key).__name__}")


def hash_tag(key: bytes) -> bytes:
    """The part of the key that is hashed: the first non-empty {...} section, else the whole key."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1:end]
    return key


def key_slot(key: KeyT) -> int:
    return crc_hqx(hash_tag(key_bytes(key)), 0) % SLOT_COUNT


def key_slots(keys: Iterable[KeyT]) -> list[int]:
    """key_slot of each key; the same rule, with str and bytes keys that hold no "{" hashed inline (MGET of 10,000 keys)."""
    slots: list[int] = []
    append = slots.append
    crc = crc_hqx
    for key in keys:
        kind = type(key)
        if kind is str and "{" not in key:
            append(crc(key.encode("utf-8"), 0) & (SLOT_COUNT - 1))
        elif kind is bytes and b"{" not in key:
            append(crc(key, 0) & (SLOT_COUNT - 1))
        else:
            append(crc(hash_tag(key_bytes(key)), 0) % SLOT_COUNT)
    return slots

"""Removing a cache's keys from every shard: SCAN MATCH over each shard in turn, UNLINK in batches."""

from __future__ import annotations

import re
from typing import Any, Callable

from django.core.exceptions import ImproperlyConfigured

from .client_calls import Operation, call

GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")
BATCH = 500


def glob_escape(text: str) -> str:
    return GLOB_SPECIAL.sub(r"\\\1", text)


def cache_pattern(key_func: Callable[[str, str, Any], str], key_prefix: str, where: str) -> str:
    """The SCAN pattern of every key this cache makes, in any version: KEY_FUNCTION("*", escaped KEY_PREFIX, "*")."""
    pattern = key_func("*", glob_escape(key_prefix), "*")
    if not pattern.strip("*"):
        raise ImproperlyConfigured(f"{where}: clear() would match every key ({pattern!r}); set a KEY_PREFIX, or a "
                                   "KEY_FUNCTION that puts the prefix or version into the key")
    return pattern


def unlink_matching(pattern: str, scan_count: int = 1000) -> Operation:
    """Steps (client_calls) that UNLINK every key matching pattern on every shard; how many were removed."""
    removed = 0
    batch: list[Any] = []
    cursor = None
    while cursor != 0:
        cursor, keys = yield call("scan", cursor or 0, match=pattern, count=scan_count)
        batch.extend(keys)
        while len(batch) >= BATCH or (cursor == 0 and batch):
            removed += int((yield call("unlink", *batch[:BATCH])))
            batch = batch[BATCH:]
    return removed

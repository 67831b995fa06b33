"""While a reshard runs: move a command's keys from their previous owner to their new one before it runs.

MIGRATE (no COPY, no REPLACE) moves the keys atomically on the previous owner, which blocks while
the new owner restores them, so a key is never lost between the two and a delete that follows
cannot be undone by a copy still in flight. NOKEY: nothing was there (already moved, or no such
key). BUSYKEY: the new owner already holds a newer copy (an application wrote it there), so the
previous owner's copy is stale and is deleted. The migrator of the reshard step copies with the
same rule, so neither ever replaces a newer value.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from .errors import ShardUnavailableError
from .layout import Layout
from .redis_import import ResponseError
from .slots import key_slot

# MIGRATE's errors that come from the new owner: it is failing over, restarting or unreachable.
TARGET_FAILOVER_ERRORS = ("IOERR", "READONLY", "LOADING", "MASTERDOWN", "Connection refused")
MOVE_ROUNDS = 3


class KeyPull:
    """``client`` is the ShardedSentinelClient whose shards, failover handling and credentials are used."""

    def __init__(self, client: Any, db: int, username: Optional[str], password: Optional[str], timeout_s: float,
                 failover_timeout: float) -> None:
        self._client = client
        self._db = db
        self._auth: tuple[Any, ...] = ()
        if password is not None:
            self._auth = ("AUTH2", username, password) if username else ("AUTH", password)
        self._timeout_ms = max(1, int(timeout_s * 1000))
        self._failover_timeout = failover_timeout

    def pull(self, routing: Layout, keys: list[Any]) -> bool:
        """Move the keys in moving slots to their new owners; True if any key was in a moving slot."""
        groups: dict[tuple[str, str], list[Any]] = {}
        for key in keys:
            slot = key_slot(key)
            if routing.is_moving(slot):
                groups.setdefault((routing.previous_owners[slot], routing.owners[slot]), []).append(key)
        for (old, new), moving in groups.items():
            self._move(old, new, moving, routing)
        return bool(groups)

    def _move(self, old: str, new: str, keys: list[Any], routing: Layout) -> None:
        client = self._client
        target = client._shard(new)  # pylint: disable=protected-access
        deadline: Optional[float] = None
        rounds = 0
        while True:
            host, port = target.address
            command = ("MIGRATE", host, port, "", self._db, self._timeout_ms, *self._auth, "KEYS", *keys)
            try:
                client._with_failover(old, lambda redis_client: redis_client.execute_command(*command),  # pylint: disable=protected-access
                                      routing=routing)
                return
            except ResponseError as exc:
                text = str(exc)
                if "BUSYKEY" in text and rounds < MOVE_ROUNDS:
                    rounds += 1
                    self._drop_stale(old, new, keys, routing)
                    continue
                if not any(marker in text for marker in TARGET_FAILOVER_ERRORS):
                    raise
                now = time.monotonic()
                deadline = now + self._failover_timeout if deadline is None else deadline
                if now >= deadline:
                    raise ShardUnavailableError(new, client._directory.labels, exc) from exc  # pylint: disable=protected-access
                client._rediscover(target, target.client)  # pylint: disable=protected-access
                time.sleep(0.05)

    def _drop_stale(self, old: str, new: str, keys: list[Any], routing: Layout) -> None:
        """Delete on the previous owner the keys that the new owner already holds."""
        client = self._client

        def exists_each(redis_client: Any) -> list[Any]:
            pipe = redis_client.pipeline(transaction=False)
            for key in keys:
                pipe.exists(key)
            return pipe.execute()  # type: ignore[no-any-return]

        held = client._with_failover(new, exists_each, routing=routing)  # pylint: disable=protected-access
        stale = [key for key, count in zip(keys, held) if int(count)]
        if stale:
            client._with_failover(old, lambda redis_client: redis_client.delete(*stale), routing=routing)  # pylint: disable=protected-access

"""FailoverPause: holds back one shard's commands while a Sentinel promotes one of its replicas (no I/O here)."""

from __future__ import annotations

import threading
import time
from typing import Any


class FailoverPause:
    """Closed from a Sentinel's failover-start event until +switch-master, its abort event, or the deadline.

    Each Sentinel that announced a failover is a holder; an abort releases only its own hold.
    Once the deadline has passed, exactly one waiter wins ``claim_expiry()``, re-asks the
    Sentinels and calls ``release_all()``; the other waiters keep waiting for that.
    ``event`` is what waiters wait on, set while open: a threading.Event for the sync client, an
    asyncio.Event for the asyncio one (whose events and commands run in one loop).
    """

    def __init__(self, event: Any) -> None:
        self.event = event
        self.event.set()
        self._lock = threading.Lock()
        self._holders: set[str] = set()
        self._expiring = False
        self.deadline = 0.0

    @property
    def paused(self) -> bool:
        return not self.event.is_set()

    def hold(self, holder: str, timeout: float) -> None:
        with self._lock:
            if not self._holders and not self._expiring:
                self.deadline = time.monotonic() + timeout
            self._holders.add(holder)
            self.event.clear()

    def holds(self, holder: str) -> bool:
        with self._lock:
            return holder in self._holders

    def release(self, holder: str) -> None:
        with self._lock:
            self._holders.discard(holder)
            if not self._holders and not self._expiring:
                self.event.set()

    def release_all(self) -> None:
        with self._lock:
            self._holders.clear()
            self._expiring = False
            self.event.set()

    def claim_expiry(self) -> bool:
        with self._lock:
            if self.event.is_set() or self._expiring or time.monotonic() < self.deadline:
                return False
            self._expiring = True
            return True

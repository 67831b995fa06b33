"""FailoverPause: holds back one shard's commands while a Sentinel promotes one of its replicas."""

from __future__ import annotations

import threading
import time


class FailoverPause:
    """Closed from a Sentinel's failover-start event until +switch-master, its abort event, or the deadline.

    Each Sentinel that announced a failover is a holder; an abort releases only its own hold.
    Once the deadline has passed, exactly one waiter wins ``claim_expiry()``, re-asks the
    Sentinels and calls ``release_all()``; the other waiters keep waiting for that.
    """

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._holders: set[str] = set()
        self._expiring = False
        self.deadline = 0.0

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def hold(self, holder: str, timeout: float) -> None:
        with self._lock:
            if not self._holders and not self._expiring:
                self.deadline = time.monotonic() + timeout
            self._holders.add(holder)
            self._open.clear()

    def holds(self, holder: str) -> bool:
        with self._lock:
            return holder in self._holders

    def release(self, holder: str) -> None:
        with self._lock:
            self._holders.discard(holder)
            if not self._holders and not self._expiring:
                self._open.set()

    def release_all(self) -> None:
        with self._lock:
            self._holders.clear()
            self._expiring = False
            self._open.set()

    def claim_expiry(self) -> bool:
        with self._lock:
            if self._open.is_set() or self._expiring or time.monotonic() < self.deadline:
                return False
            self._expiring = True
            return True

    def wait(self, timeout: float) -> bool:
        return self._open.wait(max(0.0, timeout))

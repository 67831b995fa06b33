"""Keeps a client's view of the published layout fresh: one read about every second, in a thread.

A read asks one master (the next that answers) for the layout in database LAYOUT_DB; every master
holds the same copy, written before the reshard step waits out the lease. A successful read renews
the lease from the moment the read began, for the ``lease_s`` that the layout names; the client
refuses keyed commands once the lease has run out (see ShardedSentinelClient).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from .addresses import Address
from .layout import DEFAULT_LEASE_S, LAYOUT_DB, Layout, LayoutFormatError, read_layout
from .redis_import import AuthenticationError, NoBackoff, RedisError, Retry, redis

POLL_INTERVAL_S = 1.0


class LayoutFollower:
    """``masters()`` lists (shard, master address) to read from; ``apply(layout)`` installs a newer layout and raises if it cannot."""

    def __init__(self, masters: Callable[[], list[tuple[str, Address]]], apply: Callable[[Layout], None],
                 redis_kwargs: dict[str, Any], socket_timeout: float) -> None:
        self._masters = masters
        self._apply = apply
        self._kwargs = dict(redis_kwargs, db=LAYOUT_DB, socket_timeout=socket_timeout,
                            socket_connect_timeout=socket_timeout, retry=Retry(NoBackoff(), 0), max_connections=4)
        self._clients: dict[Address, Any] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.version = 0
        self.lease_end = 0.0
        self.lease_s = DEFAULT_LEASE_S
        self.last_error: Optional[str] = None
        self.auth_failure: Optional[AuthenticationError] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shardinel-layout", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval()):
            self.refresh()

    def _interval(self) -> float:
        return min(POLL_INTERVAL_S, self.lease_s / 4)

    def refresh(self) -> bool:
        """Read the layout once; True if some master answered and the newest layout is installed."""
        with self._lock:
            started = time.monotonic()
            masters = self._masters()
            failures = []
            for offset in range(len(masters)):
                name, address = masters[(self._next + offset) % len(masters)]
                try:
                    layout = read_layout(self._client(address))
                    if layout is not None and layout.version > self.version:
                        self._apply(layout)
                        self.version = layout.version
                except AuthenticationError as exc:
                    self.auth_failure = exc
                    failures.append(f"{name}: {exc}")
                    continue
                except (RedisError, OSError, LayoutFormatError) as exc:
                    failures.append(f"{name}: {exc or type(exc).__name__}")
                    continue
                self._next = (self._next + offset + 1) % len(masters)
                self.lease_s = layout.lease_s if layout is not None else DEFAULT_LEASE_S
                self.lease_end = max(self.lease_end, started + self.lease_s)
                self.last_error = self.auth_failure = None
                return True
            self.last_error = "; ".join(failures) or "no master to read it from"
            return False

    def _client(self, address: Address) -> Any:
        client = self._clients.get(address)
        if client is None:
            client = self._clients[address] = redis.Redis(host=address[0], port=address[1], **self._kwargs)
        return client

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

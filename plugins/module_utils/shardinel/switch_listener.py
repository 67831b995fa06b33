"""The sync client's threads that follow the failover events on every Sentinel (one subscription each).

What a subscription does is event_subscriptions.follow_sentinel (shared with the asyncio client); here are the
threads, the redis-py PubSub connections and their reconnection.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .addresses import Address, format_address
from .client_core import ClientCore
from .event_subscriptions import RETRY_INTERVAL_S, ListenerStatus, follow_sentinel
from .redis_import import RedisError
from .sync_io import SyncIO


class SwitchListener:
    """Subscribes to failover_events.CHANNELS on every Sentinel, resubscribing each lost connection.

    Failover-state events are published only by the leader Sentinel, so every Sentinel is followed. One thread
    per Sentinel: a connect that hangs on an unreachable Sentinel must not delay the events of the others.
    ``new_client(address)`` makes a redis-py client (its own connection) for one Sentinel.
    """

    def __init__(self, core: ClientCore, io: SyncIO, new_client: Callable[[Address], Any],
                 retry_interval: float = RETRY_INTERVAL_S) -> None:
        self._core = core
        self._io = io
        self._new_client = new_client
        self._retry_interval = retry_interval
        self._stop = threading.Event()
        self.status = ListenerStatus(core.directory.addresses)
        self._pubsubs: dict[Address, Any] = {}
        self._threads = [
            threading.Thread(target=self._run, args=(address,), name=f"shardinel-listener-{format_address(address)}",
                             daemon=True)
            for address in core.directory.addresses
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until every Sentinel was tried at least once; True if at least one subscription is active."""
        return self.status.wait_subscribed(timeout, self._stop)

    def stop(self) -> None:
        self._stop.set()
        with self.status.changed:
            self.status.changed.notify_all()
            pubsubs = list(self._pubsubs.values())
        for pubsub in pubsubs:
            connection = pubsub.connection
            if connection is not None:
                # Wakes the thread blocked in get_message() at once, rather than at its next poll. That thread may be
                # closing the same socket: redis-py 4.3 (Debian 12) then raises from a socket it has just set to None.
                try:
                    connection.disconnect()
                except (AttributeError, OSError):
                    pass
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join()

    def _run(self, address: Address) -> None:
        while not self._stop.is_set():
            try:
                self._follow(address)
            except (RedisError, OSError, ValueError) as exc:
                self.status.last_error = exc
            self.status.mark(address, False)
            self._stop.wait(self._retry_interval)

    def _follow(self, address: Address) -> None:
        client = self._new_client(address)
        pubsub = client.pubsub()
        with self.status.changed:
            self._pubsubs[address] = pubsub
        try:
            self._io.run(follow_sentinel(self._core, self.status, address, pubsub))
        finally:
            with self.status.changed:
                self._pubsubs.pop(address, None)
            pubsub.close()
            client.close()

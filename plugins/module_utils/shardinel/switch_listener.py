"""Background threads that follow the failover events on every Sentinel (one subscription each)."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from .addresses import Address, format_address
from .failover_events import ABORT, CHANNELS, START, SWITCH, SWITCH_MASTER, parse_event
from .redis_import import NoPermissionError, RedisError
from .sentinel_directory import SentinelDirectory

CHANNEL = SWITCH_MASTER
FAILOVER_STATE_CHANNELS = tuple(c for c in CHANNELS if c != SWITCH_MASTER)

FailoverCallback = Callable[[str, Address, str], None]


class SwitchListener:
    """Subscribes to failover_events.CHANNELS on every Sentinel, resubscribing each lost connection.

    Failover-state events are published only by the leader Sentinel, so every Sentinel is
    followed. One thread per Sentinel: a connect that hangs on an unreachable Sentinel must not
    delay the events of the others. Callbacks run in the listener threads:
    ``on_switch(shard, new_master)`` for +switch-master, ``on_failover_start(shard, master, sentinel)``
    and ``on_failover_abort(shard, master, sentinel)`` for the leader's start and abort events, and
    ``on_connect()`` after every (re)subscription so that switches missed while disconnected
    are caught up. A Sentinel whose ACL lets the client user subscribe to +switch-master only
    (older deployments) is still followed for switches, and listed in ``limited_sentinels``.
    """

    def __init__(self, directory: SentinelDirectory, on_switch: Callable[[str, Address], None],  # pylint: disable=too-many-arguments
                 on_connect: Callable[[], None], poll_interval: float = 0.2, retry_interval: float = 0.2,
                 on_failover_start: Optional[FailoverCallback] = None,
                 on_failover_abort: Optional[FailoverCallback] = None) -> None:
        self._directory = directory
        self._on_switch = on_switch
        self._on_connect = on_connect
        self._on_failover_start = on_failover_start
        self._on_failover_abort = on_failover_abort
        self._poll_interval = poll_interval
        self._retry_interval = retry_interval
        self._stop = threading.Event()
        self._state = threading.Condition()
        self._subscribed: set[Address] = set()
        self._tried: set[Address] = set()
        self._limited: set[Address] = set()
        self._pubsubs: dict[Address, Any] = {}
        self._threads = [
            threading.Thread(target=self._run, args=(address,), name=f"shardinel-listener-{format_address(address)}", daemon=True)
            for address in directory.addresses
        ]
        self.last_error: Optional[BaseException] = None

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until every Sentinel was tried at least once; True if at least one subscription is active."""
        deadline = time.monotonic() + timeout
        with self._state:
            while len(self._tried) < len(self._threads) and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._state.wait(remaining)
            return bool(self._subscribed)

    @property
    def subscribed_sentinels(self) -> list[str]:
        with self._state:
            return sorted(format_address(a) for a in self._subscribed)

    @property
    def limited_sentinels(self) -> list[str]:
        """Sentinels that refused the failover-state channels (NOPERM): no pauses from their events."""
        with self._state:
            return sorted(format_address(a) for a in self._limited)

    def stop(self) -> None:
        self._stop.set()
        with self._state:
            self._state.notify_all()
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

    def _mark(self, address: Address, subscribed: bool, limited: bool = False) -> None:
        with self._state:
            self._tried.add(address)
            if subscribed:
                self._subscribed.add(address)
            else:
                self._subscribed.discard(address)
            if limited:
                self._limited.add(address)
            elif subscribed:
                self._limited.discard(address)
            self._state.notify_all()

    def _run(self, address: Address) -> None:
        while not self._stop.is_set():
            try:
                self._follow(address)
            except (RedisError, OSError, ValueError) as exc:
                self.last_error = exc
            self._mark(address, False)
            self._stop.wait(self._retry_interval)

    def _follow(self, address: Address) -> None:
        client = self._directory.new_client(address)
        pubsub = client.pubsub()
        with self._state:
            self._pubsubs[address] = pubsub
        try:
            pubsub.subscribe(SWITCH_MASTER)
            pubsub.subscribe(*FAILOVER_STATE_CHANNELS)
            pending, connected, limited = len(CHANNELS), False, False
            while not self._stop.is_set():
                try:
                    message = pubsub.get_message(timeout=self._poll_interval)
                except NoPermissionError as exc:
                    if pending != len(FAILOVER_STATE_CHANNELS):
                        raise
                    self.last_error = exc
                    pending, message, limited = 0, None, True
                if pending and message is not None and message.get("type") == "subscribe":
                    pending, message = pending - 1, None
                if not pending and not connected:
                    connected = True
                    self._on_connect()
                    self._mark(address, True, limited)
                if message is not None and message.get("type") == "message":
                    self._handle(format_address(address), message["channel"], message["data"])
        finally:
            with self._state:
                self._pubsubs.pop(address, None)
            pubsub.close()
            client.close()

    def _handle(self, sentinel: str, channel: Any, data: Any) -> None:
        event = parse_event(channel, data)
        if event is None:
            return
        if event.kind == SWITCH:
            self._on_switch(event.shard, event.address)
        elif event.kind == START and self._on_failover_start is not None:
            self._on_failover_start(event.shard, event.address, sentinel)
        elif event.kind == ABORT and self._on_failover_abort is not None:
            self._on_failover_abort(event.shard, event.address, sentinel)

"""Following every Sentinel's failover events: where each subscription stands (no I/O here).

The sync client follows each Sentinel in a thread (switch_listener), the asyncio client in a task; both run
``follow_sentinel`` on a PubSub connection: it subscribes to the channels of SUBSCRIPTIONS in order, re-asks every
shard's master once all are confirmed (switches may have been missed while it was not subscribed), and hands each
failover event to failover_steps.follow_event, until the client closes.
A Sentinel whose ACL lets the client user subscribe to +switch-master only (older deployments) refuses the
failover-state channels with NOPERM: it is still followed for switches, and listed as limited.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

from .addresses import Address, format_address
from .client_core import ClientCore
from .effects import NextMessage, Procedure, Subscribe
from .failover_events import CHANNELS, SWITCH_MASTER, FailoverEvent, parse_event
from .failover_steps import follow_event, resync
from .redis_import import NoPermissionError

FAILOVER_STATE_CHANNELS = tuple(c for c in CHANNELS if c != SWITCH_MASTER)
SUBSCRIPTIONS = ((SWITCH_MASTER,), FAILOVER_STATE_CHANNELS)
POLL_INTERVAL_S = 0.2
RETRY_INTERVAL_S = 0.2


class SubscriptionProgress:
    """One subscription to one Sentinel, from its SUBSCRIBE commands on."""

    def __init__(self) -> None:
        self.pending = len(CHANNELS)
        self.connected = False
        self.limited = False

    def refused(self) -> bool:
        """After a NOPERM: True if it refused the failover-state channels (followed for switches only from now);
        False if it refused something else, which ends the subscription."""
        if self.pending != len(FAILOVER_STATE_CHANNELS):
            return False
        self.pending, self.limited = 0, True
        return True

    def read(self, message: Optional[dict[str, Any]]) -> tuple[Optional[FailoverEvent], bool]:
        """(the failover event a message carries, or None; True the first time every channel is confirmed)."""
        if self.pending and message is not None and message.get("type") == "subscribe":
            self.pending, message = self.pending - 1, None
        confirmed = not self.pending and not self.connected
        if confirmed:
            self.connected = True
        if message is not None and message.get("type") == "message":
            return parse_event(message["channel"], message["data"]), confirmed
        return None, confirmed


class ListenerStatus:
    """Which Sentinels' subscriptions were tried, are active, are limited to +switch-master; shared by the
    threads or tasks that follow them."""

    def __init__(self, addresses: list[Address]) -> None:
        self.addresses = list(addresses)
        self.changed = threading.Condition()
        self._tried: set[Address] = set()
        self._subscribed: set[Address] = set()
        self._limited: set[Address] = set()
        self.last_error: Optional[BaseException] = None

    def mark(self, address: Address, subscribed: bool, limited: bool = False) -> None:
        with self.changed:
            self._tried.add(address)
            if subscribed:
                self._subscribed.add(address)
            else:
                self._subscribed.discard(address)
            if limited:
                self._limited.add(address)
            elif subscribed:
                self._limited.discard(address)
            self.changed.notify_all()

    @property
    def all_tried(self) -> bool:
        with self.changed:
            return len(self._tried) >= len(self.addresses)

    @property
    def any_subscribed(self) -> bool:
        with self.changed:
            return bool(self._subscribed)

    def wait_subscribed(self, timeout: float, stopped: threading.Event) -> bool:
        """Block until every Sentinel was tried at least once; True if at least one subscription is active."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self._tried) < len(self.addresses) and not stopped.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return bool(self._subscribed)

    @property
    def subscribed_sentinels(self) -> list[str]:
        with self.changed:
            return sorted(format_address(a) for a in self._subscribed)

    @property
    def limited_sentinels(self) -> list[str]:
        """Sentinels that refused the failover-state channels (NOPERM): no pauses from their events."""
        with self.changed:
            return sorted(format_address(a) for a in self._limited)


def follow_sentinel(core: ClientCore, status: ListenerStatus, address: Address, pubsub: Any) -> Procedure:
    """Follow one Sentinel's failover events on a PubSub connection until the client closes (or an error ends it)."""
    for channels in SUBSCRIPTIONS:
        yield Subscribe(pubsub, channels)
    progress = SubscriptionProgress()
    sentinel = format_address(address)
    while not core.closed:
        try:
            message = yield NextMessage(pubsub, POLL_INTERVAL_S)
        except NoPermissionError as exc:
            if not progress.refused():
                raise
            status.last_error, message = exc, None
        event, confirmed = progress.read(message)
        if confirmed:
            yield from resync(core)
            status.mark(address, True, progress.limited)
        if event is not None:
            yield from follow_event(core, sentinel, event)

"""Keeps a client's view of the published layout fresh, and its lease (no I/O here).

A read asks one master (the next that answers) for the layout in database LAYOUT_DB; every master holds the same
copy, written before the reshard step waits out the lease. A successful read renews the lease from the moment the
read began, for the ``lease_s`` that the layout names; the client refuses keyed commands once the lease has run
out (client_core.current_routing). The sync client reads about once a second in a thread, the asyncio one in a
task; both run ``refresh()``, and a command that finds the lease run out runs it too.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from .addresses import Address
from .effects import Procedure, Send
from .layout import DEFAULT_LEASE_S, LAYOUT_DB, LAYOUT_KEY, Layout, LayoutFormatError, parse_layout
from .redis_import import AuthenticationError, RedisError

POLL_INTERVAL_S = 1.0


def reader_kwargs(redis_kwargs: dict[str, Any], socket_timeout: float) -> dict[str, Any]:
    """redis-py arguments of a layout reader's connections (each shell adds a ``retry`` that does not retry)."""
    return dict(redis_kwargs, db=LAYOUT_DB, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
                max_connections=4)


class LayoutFollower:
    """``masters()`` lists (shard, master address) to read from, ``new_reader(address)`` makes a redis-py client on
    LAYOUT_DB there, and ``apply(layout)`` is a procedure that installs a newer layout and raises if it cannot."""

    def __init__(self, masters: Callable[[], list[tuple[str, Address]]], new_reader: Callable[[Address], Any],
                 apply: Callable[[Layout], Procedure]) -> None:
        self._masters = masters
        self._new_reader = new_reader
        self._apply = apply
        self._readers: dict[Address, Any] = {}
        self._next = 0
        self.version = 0
        self.lease_end = 0.0
        self.lease_s = DEFAULT_LEASE_S
        self.last_error: Optional[str] = None
        self.auth_failure: Optional[AuthenticationError] = None

    def poll_interval(self) -> float:
        return min(POLL_INTERVAL_S, self.lease_s / 4)

    def _reader(self, address: Address) -> Any:
        reader = self._readers.get(address)
        if reader is None:
            reader = self._readers[address] = self._new_reader(address)
        return reader

    def refresh(self) -> Procedure:
        """Read the layout once; True if some master answered and the newest layout is installed."""
        started = time.monotonic()
        masters = self._masters()
        failures = []
        for offset in range(len(masters)):
            name, address = masters[(self._next + offset) % len(masters)]
            try:
                layout = parse_layout((yield Send(self._reader(address), ("GET", LAYOUT_KEY), {})))
                if layout is not None and layout.version > self.version:
                    yield from self._apply(layout)
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

    def take_readers(self) -> list[Any]:
        """The layout readers made so far, for the shell to close; the follower forgets them."""
        readers, self._readers = list(self._readers.values()), {}
        return readers

"""The asyncio client's tasks that follow the failover events on every Sentinel (one subscription each).

What a subscription does is shardinel.event_subscriptions.follow_sentinel (shared with the sync client's threads);
here are the tasks, the redis.asyncio PubSub connections and their reconnection.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from ..addresses import Address
from ..client_core import ClientCore
from ..event_subscriptions import RETRY_INTERVAL_S, ListenerStatus, follow_sentinel
from ..redis_import import RedisError
from .async_io import AsyncIO


class EventTasks:
    """One task per Sentinel, subscribed to failover_events.CHANNELS, resubscribing after every lost connection.

    ``new_client(address)`` makes a redis.asyncio client for one Sentinel (its own connection).
    """

    def __init__(self, core: ClientCore, io: AsyncIO, new_client: Callable[[Address], Any]) -> None:
        self._core = core
        self._io = io
        self._new_client = new_client
        self.status = ListenerStatus(core.directory.addresses)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._run(address)) for address in self.status.addresses]

    async def wait_subscribed(self, timeout: float) -> bool:
        """Wait until every Sentinel was tried at least once; True if at least one subscription is active."""
        deadline = time.monotonic() + timeout
        while not self.status.all_tried and time.monotonic() < deadline and not self._core.closed:
            await asyncio.sleep(0.01)
        return self.status.any_subscribed

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, address: Address) -> None:
        while not self._core.closed:
            try:
                await self._follow(address)
            except (RedisError, OSError, ValueError) as exc:
                self.status.last_error = exc
            self.status.mark(address, False)
            await asyncio.sleep(RETRY_INTERVAL_S)

    async def _follow(self, address: Address) -> None:
        client = self._new_client(address)
        pubsub = client.pubsub()
        try:
            await self._io.run(follow_sentinel(self._core, self.status, address, pubsub))
        finally:
            try:
                await pubsub.aclose()
            finally:
                await client.aclose()

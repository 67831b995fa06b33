"""Writer tasks for the asyncio client's failover tests and benchmarks, and run() for tests without a plugin."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Optional, TypeVar

import redis

from failover_writer import WriterReport

Result = TypeVar("Result")


def run(coroutine: Awaitable[Result], timeout: float = 120.0) -> Result:
    """Run a test's coroutine in a new event loop, failing after ``timeout`` s rather than hanging."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))  # type: ignore[arg-type]


class AsyncWriter:
    """A task that writes {tag}:n keys (all on the tag's shard) until stopped: plain SETs, or with ``wait_ms`` a
    pipeline of SET and WAIT 1 (replica-acknowledged writes are marked); its report is failover_writer's."""

    def __init__(self, client: Any, tag: str, wait_ms: Optional[int] = None, pause: float = 0.0) -> None:
        self.client, self.tag, self.wait_ms, self.pause = client, tag, wait_ms, pause
        self.report = WriterReport()
        self._stop = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None

    def start(self) -> "AsyncWriter":
        self._task = asyncio.ensure_future(self._run())
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            key = f"{{{self.tag}}}:{number}"
            number += 1
            try:
                if self.wait_ms is None:
                    await self.client.set(key, number)
                    replicas = 0
                else:
                    async with self.client.pipeline(transaction=False) as pipe:
                        _ok, replicas = await pipe.set(key, number).wait(1, self.wait_ms).execute()
            except redis.RedisError:
                self.report.errors += 1
                await asyncio.sleep(0.002)
                continue
            self.report.acked.append(key)
            self.report.success_times.append(time.monotonic())
            if replicas >= 1:
                self.report.replica_acked.append(key)
            await asyncio.sleep(self.pause)

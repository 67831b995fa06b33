"""A writer thread for failover tests and benchmarks: SET then WAIT 1 on one shard through one client."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis


def tag_on(client: object, shard: str, prefix: str = "t") -> str:
    """The first "<prefix><n>" whose keys the client routes to shard: a {hash tag} that keeps a writer on it."""
    return next(f"{prefix}{i}" for i in range(100000) if client.shard_for(f"{prefix}{i}") == shard)  # type: ignore[attr-defined]


@dataclass
class WriterReport:
    acked: list[str] = field(default_factory=list)
    replica_acked: list[str] = field(default_factory=list)
    success_times: list[float] = field(default_factory=list)
    errors: int = 0

    def gap(self, after: float = 0.0) -> float:
        """Longest time between two acknowledged writes, counting from the last one before ``after``."""
        before = [t for t in self.success_times if t < after][-1:]
        times = before + [t for t in self.success_times if t >= after]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)

    def durable_gap(self, reader: redis.Redis, after: float = 0.0) -> float:
        """Like gap(), over only the acknowledged writes that the reader still finds."""
        present = set()
        for start in range(0, len(self.acked), 1000):
            chunk = self.acked[start:start + 1000]
            present.update(k for k, v in zip(chunk, reader.mget(chunk)) if v is not None)
        kept = [t for k, t in zip(self.acked, self.success_times) if k in present]
        before = [t for t in kept if t < after][-1:]
        times = before + [t for t in kept if t >= after]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)

    def missing(self, reader: redis.Redis) -> tuple[int, int]:
        """(acknowledged writes missing, replica-acknowledged writes missing) as the reader sees them."""
        present = set()
        for start in range(0, len(self.acked), 1000):
            chunk = self.acked[start:start + 1000]
            present.update(k for k, v in zip(chunk, reader.mget(chunk)) if v is not None)
        return (sum(1 for k in self.acked if k not in present), sum(1 for k in self.replica_acked if k not in present))


class FailoverWriter:
    """Writes {tag}:n keys (all on the tag's shard) until stopped; WAIT 1 wait_ms (None: no WAIT) marks replica-acked writes."""

    def __init__(self, client: object, tag: str, wait_ms: "int | None" = 200, pause: float = 0.002) -> None:
        self.client = client
        self.tag = tag
        self.wait_ms = wait_ms
        self.pause = pause
        self.report = WriterReport()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="failover-writer", daemon=True)

    def __enter__(self) -> "FailoverWriter":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            key = f"{{{self.tag}}}:{number}"
            number += 1
            try:
                if self.wait_ms is None:
                    self.client.set(key, number)  # type: ignore[attr-defined]
                    replicas = 0
                else:
                    with self.client.pipeline(transaction=False) as pipe:  # type: ignore[attr-defined]
                        _ok, replicas = pipe.set(key, number).wait(1, self.wait_ms).execute()
            except redis.RedisError:
                self.report.errors += 1
                time.sleep(self.pause)
                continue
            self.report.acked.append(key)
            self.report.success_times.append(time.monotonic())
            if replicas >= 1:
                self.report.replica_acked.append(key)
            time.sleep(self.pause)

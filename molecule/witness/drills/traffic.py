"""Live writers on every shard through the long-lived clients, and a monitor of where the shards' masters are."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Optional

import redis
from failover_writer import FailoverWriter, WriterReport, tag_on

from cluster import redis_admin, sentinel_admin, sentinel_master
from scenario import REFERENCE_SENTINEL, SHARDS

WRITER_PAUSE = 0.005
POLL = 0.1
# The reference Sentinel's own view of a master's failure, in order.
EVENTS = ("+sdown", "+odown", "+try-failover", "+switch-master")


def lost_writes(report: WriterReport, reader: Any) -> list[int]:
    """Indexes (into report.acked) of the acknowledged writes that the reader no longer finds."""
    present: set[str] = set()
    for start in range(0, len(report.acked), 1000):
        chunk = report.acked[start:start + 1000]
        present.update(k for k, v in zip(chunk, reader.mget(chunk)) if v is not None)
    return [i for i, key in enumerate(report.acked) if key not in present]


class Monitor:
    """Every POLL s: the reference Sentinel's master of each shard, the plain client's route, and probe writes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.fault_at: Optional[float] = None
        self.sentinel_switch: dict[str, float] = {}
        self.client_switch: dict[str, float] = {}
        self.probe_ok: dict[str, list[float]] = {}
        self.probe_refused: dict[str, list[float]] = {}
        self.events: dict[str, dict[str, float]] = {}
        self._pubsub = sentinel_admin(REFERENCE_SENTINEL).pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(*EVENTS)
        self._probes: dict[str, tuple[str, int]] = {}
        self._before = {s: sentinel_master(REFERENCE_SENTINEL, s) for s in SHARDS}
        self._client_before = {s: client.master_for_shard(s) for s in SHARDS}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-monitor", daemon=True)

    def mark_fault(self) -> float:
        self.fault_at = time.monotonic()
        return self.fault_at

    def probe(self, addresses: dict[str, tuple[str, int]]) -> None:
        """Also write straight into each {shard: address} (as admin) every POLL s, to see when it stops taking writes."""
        self._probes = dict(addresses)

    def masters_before(self) -> dict[str, Optional[tuple[str, int]]]:
        return dict(self._before)

    def _read_events(self) -> None:
        """First time the reference Sentinel published each event about each shard's master, after the fault."""
        while (message := self._pubsub.get_message(timeout=0)) is not None:
            # "+switch-master <shard> <old> <new>"; the others "master <shard> <ip> <port> ...".
            words = str(message["data"]).split()
            shard = words[1] if words[0] == "master" and len(words) > 1 else words[0]
            if self.fault_at is not None and shard in SHARDS:
                self.events.setdefault(shard, {}).setdefault(message["channel"], time.monotonic())

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            self._read_events()
            now = time.monotonic()
            for shard in SHARDS:
                if shard not in self.sentinel_switch:
                    current = sentinel_master(REFERENCE_SENTINEL, shard)
                    if current is not None and current != self._before[shard]:
                        self.sentinel_switch[shard] = now
                if shard not in self.client_switch and self.client.master_for_shard(shard) != self._client_before[shard]:
                    self.client_switch[shard] = now
            for shard, address in self._probes.items():
                try:
                    redis_admin(address).set("drill-probe", now)
                    self.probe_ok.setdefault(shard, []).append(now)
                except (redis.RedisError, OSError):
                    self.probe_refused.setdefault(shard, []).append(now)

    def wait_switch(self, shards: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s in self.sentinel_switch for s in shards):
                return True
            time.sleep(POLL)
        return False

    def since_fault(self, moments: dict[str, float]) -> dict[str, float]:
        return {k: round(v - self.fault_at, 2) for k, v in moments.items()} if self.fault_at else {}

    def __enter__(self) -> "Monitor":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._pubsub.close()


class Traffic(contextlib.ExitStack):
    """One writer per shard and per client ({mode: long-lived client}), plus the Monitor of the "plain" client."""

    def __init__(self, clients: dict[str, Any], drill: str) -> None:
        super().__init__()
        self.writers = {
            (mode, shard): FailoverWriter(client, tag_on(client, shard, f"{drill}-{mode}-"), wait_ms=None, pause=WRITER_PAUSE)
            for mode, client in clients.items() for shard in SHARDS
        }
        self.reader = clients["plain"]
        self.monitor = Monitor(self.reader)

    def __enter__(self) -> "Traffic":
        super().__enter__()
        self.enter_context(self.monitor)
        for writer in self.writers.values():
            self.enter_context(writer)
        return self

    def results(self, failed_over: list[str]) -> list[dict[str, Any]]:
        """One row per writer; call after the writers stopped and the topology settled. Deletes the written keys."""
        rows = []
        for (mode, shard), writer in self.writers.items():
            report = writer.report
            lost = lost_writes(report, self.reader)
            fault_at = self.monitor.fault_at or 0.0
            rows.append({
                "mode": mode, "shard": shard, "failed_over": shard in failed_over,
                "acknowledged": len(report.acked), "lost": len(lost), "errors": report.errors,
                "longest_gap": round(report.gap(), 2),
                "lost_between": [round(report.success_times[lost[0]] - fault_at, 2),
                                 round(report.success_times[lost[-1]] - fault_at, 2)] if lost else None,
            })
            for start in range(0, len(report.acked), 1000):
                self.reader.delete(*report.acked[start:start + 1000])
        return rows

"""On-demand faults benchmark (not a test): what a crashed, frozen or resync-time-crashed master costs each writer.

Starts 3 shards (master + replica) and 3 Sentinels on 127.0.0.1 (tests/unit/redis_topology.py,
down-after-milliseconds 1000, failover-timeout 4000) and runs one fault per shard, each with three
writers on that shard at the same time:

- shardinel: a ShardedSentinelClient writing plain SETs;
- shardinel durable_writes=1: the same with every write WAITing for one replica (durable_timeout 0.5 s);
- redis-py master_for: redis-py's Sentinel.master_for, the reference.

Faults:

- SIGKILL of the master (replica in sync); the killed process is started again once the Sentinels agreed on
  the new master, as its systemd unit (Restart=always) would;
- SIGSTOP of the master (replica in sync), SIGCONT once the Sentinels agreed on the new master;
- crash during resync: the replica is restarted empty (its RDB file removed, so it needs a full sync) while the
  master waits 5 s before a diskless full sync
  (repl-diskless-sync-delay 5, the window the issue describes); writers start, and the master is killed 2 s
  later, so Sentinel promotes the replica that never got the data. The master is started again afterwards.

After each fault the old master is left to rejoin as a replica and resync, then every acknowledged key is read
back from the new master. Printed per writer: failover time (fault to every Sentinel naming the new master),
acknowledged writes, acknowledged writes lost, and the longest time without an acknowledged write that survived
(from the writers' start, so writes acknowledged and then lost count as gap), beside redis-py's as a ratio.

Run: cd /work/main && .venv/bin/python benchmarks/faults.py [--rounds N]   (about 1.5 min per round)
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit"), str(ROOT / "tests" / "unit" / "client")]

from redis.sentinel import Sentinel  # noqa: E402

from failover_writer import FailoverWriter, WriterReport, tag_on  # noqa: E402
from redis_topology import Process, RedisTopology  # noqa: E402
from shardinel import ShardedSentinelClient  # noqa: E402

WRITERS = ("shardinel", "shardinel durable_writes=1", "redis-py master_for")
DURABLE_TIMEOUT = 0.5
SOCKET_TIMEOUT = 1.0
RESYNC_DELAY = 5
CRASH_AFTER = 2.0
ROWS: list[tuple[str, str, str, str, str, str, str]] = []


def surviving_gap(report: WriterReport, present: set[str], since: float) -> float:
    """Longest time without an acknowledged write that survived, counted from ``since`` (the writers' start)."""
    times = [since] + [t for key, t in zip(report.acked, report.success_times) if key in present]
    return max(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else 0.0


def present_keys(reader: Any, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        found.update(k for k, v in zip(chunk, reader.mget(chunk)) if v is not None)
    return found


class Writers:
    """The three writers of one fault, all on one shard."""

    def __init__(self, topology: RedisTopology, shard: str, label: str) -> None:
        self.topology = topology
        self.shard = shard
        kwargs = dict(topology.client_kwargs(), socket_timeout=SOCKET_TIMEOUT)
        self.plain = ShardedSentinelClient(topology.sentinel_addresses, **kwargs)
        self.durable = ShardedSentinelClient(topology.sentinel_addresses, durable_writes=1, durable_timeout=DURABLE_TIMEOUT,
                                             **kwargs)
        app, sentinel_user = topology.users["app"], topology.sentinel_users["client"]
        self.sentinel = Sentinel([p.address for p in topology.sentinels], socket_timeout=SOCKET_TIMEOUT,
                                 sentinel_kwargs={"username": sentinel_user.username, "password": sentinel_user.password})
        self.reference = self.sentinel.master_for(shard, username=app.username, password=app.password,
                                                  socket_timeout=SOCKET_TIMEOUT)
        for client in (self.plain, self.durable):
            client.wait_for_switch_listener(5)
        self.writers = [
            FailoverWriter(self.plain, tag_on(self.plain, self.shard, f"{label}-p"), wait_ms=None, pause=0.002),
            FailoverWriter(self.durable, tag_on(self.durable, self.shard, f"{label}-d"), wait_ms=None, pause=0.002),
            FailoverWriter(self.reference, f"{label}-r", wait_ms=None, pause=0.002),
        ]

    def __enter__(self) -> "Writers":
        for writer in self.writers:
            writer.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for writer in self.writers:
            writer.__exit__(*exc_info)

    def close(self) -> None:
        self.plain.close()
        self.durable.close()
        self.reference.close()
        for client in self.sentinel.sentinels:
            client.close()


def run_fault(topology: RedisTopology, shard: str, name: str, inject: Callable[[], Any], recover: Callable[[], None],
              prepare: Callable[[], None] = lambda: None, lead: float = 1.0) -> None:
    """prepare(), start the writers, wait ``lead`` s, inject() the fault, time the failover, recover(), settle, measure."""
    old = topology.wait_for_master_agreement(shard)
    prepare()
    writers = Writers(topology, shard, name.split()[0].lower())
    try:
        since = time.monotonic()
        with writers:
            time.sleep(lead)
            fault = time.monotonic()
            inject()
            new = topology.wait_for_master_agreement(shard, not_address=old, timeout=60)
            failover = time.monotonic() - fault
            recover()
            topology.settle_after_failover(shard, old, timeout=60)
            time.sleep(1)
        reader = topology.redis_client(new)
        try:
            figures = []
            for writer in writers.writers:
                present = present_keys(reader, writer.report.acked)
                lost = sum(1 for key in writer.report.acked if key not in present)
                figures.append((len(writer.report.acked), lost, surviving_gap(writer.report, present, since),
                                writer.report.errors))
        finally:
            reader.close()
    finally:
        writers.close()
    reference_gap = figures[-1][2]
    for label, (acked, lost, gap, errors) in zip(WRITERS, figures):
        ratio = f"{gap / reference_gap:.2f}" if reference_gap else "-"
        ROWS.append((name, f"{failover:.2f} s", label, f"{acked:,}", f"{lost:,}", f"{gap:.2f} s", ratio))
        print(f"  {name} / {label}: failover {failover:.2f} s, acknowledged {acked:,}, lost {lost:,}, "
              f"gap {gap:.2f} s ({ratio} of redis-py), refused or failed {errors:,}", flush=True)


def restart_when_failed_over(topology: RedisTopology, process: Process) -> Callable[[], None]:
    return lambda: topology.restart(process)


def sigkill(topology: RedisTopology, shard: str) -> None:
    master = topology.process_at(topology.wait_for_master_agreement(shard))
    run_fault(topology, shard, "SIGKILL master", lambda: master.kill(signal.SIGKILL), restart_when_failed_over(topology, master))


def sigstop(topology: RedisTopology, shard: str) -> None:
    master = topology.process_at(topology.wait_for_master_agreement(shard))
    run_fault(topology, shard, "SIGSTOP master", lambda: master.kill(signal.SIGSTOP), lambda: master.kill(signal.SIGCONT))


def crash_during_resync(topology: RedisTopology, shard: str) -> None:
    master = topology.process_at(topology.wait_for_master_agreement(shard))
    replica = next(p for p in (topology.shard(shard).master, topology.shard(shard).replica) if p is not master)

    def prepare() -> None:
        admin = topology.redis_client(master.address)
        try:
            admin.config_set("repl-diskless-sync-delay", RESYNC_DELAY)
            replica.kill(signal.SIGKILL)
            # without the RDB it kept from its last sync the replica cannot resync partially
            (topology.directory / f"{replica.name}.rdb").unlink(missing_ok=True)
            topology.restart(replica)
            deadline = time.monotonic() + 10
            while not any(isinstance(v, dict) and v.get("state") == "wait_bgsave" for v in admin.info("replication").values()):
                if time.monotonic() > deadline:
                    raise TimeoutError("the restarted replica did not wait for its full sync")
                time.sleep(0.05)
        finally:
            admin.close()

    def inject() -> None:
        admin = topology.redis_client(master.address)
        try:
            states = [v.get("state") for v in admin.info("replication").values() if isinstance(v, dict)]
        finally:
            admin.close()
        if states != ["wait_bgsave"]:
            print(f"  warning: the replica was no longer waiting for its sync when the master was killed ({states})")
        master.kill(signal.SIGKILL)

    run_fault(topology, shard, "crash during resync", inject, restart_when_failed_over(topology, master), prepare=prepare,
              lead=CRASH_AFTER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="how many times to run the three faults")
    rounds = parser.parse_args().rounds
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        topology = RedisTopology.start(Path(tmp), shard_count=3)
        try:
            for number in range(rounds):
                print(f"round {number + 1} of {rounds}", flush=True)
                sigkill(topology, "shard1")
                sigstop(topology, "shard2")
                crash_during_resync(topology, "shard3")
        finally:
            topology.stop()
    print(f"\n{rounds} round(s) in {time.monotonic() - started:.0f} s\n")
    print("| fault | failover | writer | acknowledged | lost | longest gap | gap / redis-py |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in ROWS:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

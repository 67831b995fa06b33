"""Backup and restore benchmark (issue 21), on demand, not a test. Starts its own local servers.

One shard (master + replica) and three Sentinels on 127.0.0.1, loaded with --mb megabytes of 1,000-byte random
(incompressible) values in database 0. In the same run:

1. Backup seconds per GB: the shardinel.redis.backup module (run as Ansible runs it: python -m with an arguments file)
   taking the shard from its replica, the engine's redis-check-rdb included (it reads the snapshot as it arrives); its
   own time (``seconds`` in its metadata) and the whole module run. Reference: ``redis-cli --rdb`` from the same
   replica, then ``cp`` of the file into a backup directory (the usual "copy dump.rdb somewhere"). --rounds of each,
   alternated; the medians are compared.
2. Restore: the shardinel.redis.restore module after the shard's data was wiped, with a writer (SET every 2 ms to the
   master) running throughout: seconds per GB in all, the load of the RDB by the throwaway server (what a restore by
   "stop, replace dump.rdb, start" would keep the shard down for, at the least), the copy into the staging database,
   the swap (the write pause the module reports), the writer's longest gap between two acknowledged writes (the
   client's view, its own scheduling included) and the master's longest blocking event (its LATENCY monitor).

Run: cd /work/main && .venv/bin/python benchmarks/backup_benchmark.py [--mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit"),
                str(ROOT / "tests" / "unit" / "plugins" / "modules")]

from figures import print_table, row  # noqa: E402
from module_runner import connection_args, module_runner  # noqa: E402
from redis_topology import RedisTopology  # noqa: E402

VALUE_SIZE = 1000
PIPELINE = 2000


def load(address: tuple[str, int], username: str, password: str, megabytes: int) -> int:
    """SET --mb MB of random values over one raw connection, pipelined; the number of keys."""
    count = megabytes * 1024 * 1024 // VALUE_SIZE
    connection = socket.create_connection(address)
    reader = connection.makefile("rb")
    login = [b"AUTH", username.encode(), password.encode()]
    connection.sendall(b"*3\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in login))
    assert reader.readline() == b"+OK\r\n"
    for first in range(0, count, PIPELINE):
        commands = []
        for index in range(first, min(first + PIPELINE, count)):
            key = b"bench:%d" % index
            commands.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, VALUE_SIZE, os.urandom(VALUE_SIZE)))
        connection.sendall(b"".join(commands))
        for _command in commands:
            reader.readline()
    connection.close()
    return count


class Writer:
    """SET w:<n> on the master every 2 ms; the longest time between two acknowledged writes."""

    def __init__(self, client) -> None:
        self.client, self.longest, self.count, self.errors = client, 0.0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                self.client.set(f"w:{self.count}", "x")
                self.count += 1
                now = time.monotonic()
                self.longest, last = max(self.longest, now - last), now
            except Exception:  # pylint: disable=broad-except
                self.errors += 1
            time.sleep(0.002)

    def __enter__(self) -> "Writer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="megabytes of values to load (default 1024)")
    parser.add_argument("--rounds", type=int, default=3, help="backups of each kind, alternated (default 3)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shardinel-backup-bench-") as work_dir:
        work = Path(work_dir)
        topology = RedisTopology.start(work / "topology", shard_count=1)
        try:
            run(topology, work, options.mb, options.rounds)
        finally:
            topology.stop()
    print_table("shardinel", "reference")


def run(topology: RedisTopology, work: Path, megabytes: int, rounds: int) -> None:
    shard = topology.shard("shard1")
    admin = topology.users["admin"]
    started = time.perf_counter()
    keys = load(shard.master.address, admin.username, admin.password, megabytes)
    master = topology.redis_client(shard.master.address)
    master.execute_command("WAIT", 1, 600000)
    topology.wait_for_replica_in_sync(shard.replica.address, timeout=600)
    dataset = master.info("memory")["used_memory_dataset"]
    print(f"loaded {keys:,} keys, {dataset / 2 ** 30:.2f} GiB of data set, in {time.perf_counter() - started:.1f} s", flush=True)

    run_module = module_runner(work)
    args = connection_args(topology)
    for option in ("connect_timeout", "socket_timeout"):
        del args[option]
    reference, ours, whole = [], [], []
    # Alternated, so that both see the same load on a shared machine; the median of each is compared.
    for round_number in range(rounds):
        started = time.perf_counter()
        subprocess.run(["redis-cli", "-h", shard.replica.host, "-p", str(shard.replica.port), "--user", admin.username,
                        "--rdb", str(work / "dump.rdb")], env=dict(os.environ, REDISCLI_AUTH=admin.password), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.copyfile(work / "dump.rdb", work / "copied.rdb")
        reference.append(time.perf_counter() - started)
        started = time.perf_counter()
        backup = run_module("backup", dict(args, directory=str(work / "backups"), backup_set=f"bench{round_number}", keep=1,
                                           timeout=300.0), timeout=1800)
        whole.append(time.perf_counter() - started)
        assert backup.rc == 0, backup.get("msg")
        ours.append(backup["shards"]["shard1"]["seconds"])
        print(f"round {round_number + 1}: redis-cli --rdb + cp {reference[-1]:.2f} s, module {ours[-1]:.2f} s "
              f"({whole[-1]:.2f} s in all)", flush=True)
    set_name = f"bench{rounds - 1}"
    size_gb = backup["shards"]["shard1"]["size"] / 2 ** 30
    check_started = time.perf_counter()
    subprocess.run(["redis-check-rdb", str(work / "backups" / set_name / "shard1.rdb")], check=True, stdout=subprocess.DEVNULL)
    check_s = time.perf_counter() - check_started
    mine, theirs = statistics.median(ours), statistics.median(reference)
    row(f"1. backup s/GB, median of {rounds}: module's own time (snapshot, SHA-256, redis-check-rdb)", f"{mine / size_gb:.2f}",
        f"{theirs / size_gb:.2f} (redis-cli --rdb + cp)", f"{mine / theirs:.2f}", "target <= 1.2")
    row(f"1b. backup s/GB, best of {rounds}", f"{min(ours) / size_gb:.2f}", f"{min(reference) / size_gb:.2f}",
        f"{min(ours) / min(reference):.2f}", "information")
    row("1c. backup s/GB, whole module run (Ansible module start included), median", f"{statistics.median(whole) / size_gb:.2f}",
        f"{theirs / size_gb:.2f}", f"{statistics.median(whole) / theirs:.2f}", "information")
    row("1d. redis-check-rdb of the file on its own, s/GB (the module runs it during the transfer)", f"{check_s / size_gb:.2f}",
        "-", "-", "information")

    # ASYNC: a synchronous FLUSHDB of a large database blocks the master longer than Sentinel's down-after.
    master.flushdb(asynchronous=True)
    master.execute_command("WAIT", 1, 60000)
    # The master records every event (command, expiry cycle, fork, ...) that blocks it for 10 ms or more.
    master.config_set("latency-monitor-threshold", 10)
    master.execute_command("LATENCY", "RESET")
    with Writer(topology.redis_client(shard.master.address)) as writer:
        time.sleep(0.5)
        started = time.perf_counter()
        restore = run_module("restore", dict(args, directory=str(work / "backups"), backup_set=set_name, timeout=600.0),
                             timeout=3600)
        restore_s = time.perf_counter() - started
        time.sleep(0.5)
    assert restore.rc == 0, restore.get("msg")
    report = restore["shards"]["shard1"]
    assert report["keys_restored"] == keys, report
    row("2. restore s/GB: whole module run (checks, load, copy, swap, replica)", f"{restore_s / size_gb:.2f}", "-", "-",
        "information")
    row("2b. restore: load of the RDB by the throwaway server, s/GB", f"{report['load_s'] / size_gb:.2f}",
        "a restart-based restore is down at least this long", "-", "information")
    row("2c. restore: copy into the staging database (shard serving), s/GB", f"{report['copy_s'] / size_gb:.2f}", "-", "-",
        "information")
    row("2d. restore: write pause of the shard (the swap transaction)", f"{report['write_pause_s'] * 1000:.2f} ms", "-", "-",
        "printed")
    row("2e. restore: writer's longest gap between acknowledged writes", f"{writer.longest * 1000:.0f} ms",
        f"{writer.count:,} writes, {writer.errors} errors", "-", "information")
    row("2f. restore: replica caught up after the swap", f"{report['replica_sync_s']:.2f} s", "-", "-", "information")
    events = master.execute_command("LATENCY", "LATEST")
    worst = max(events, key=lambda event: int(event[3]), default=None)
    row("2g. restore: the master's longest blocking event (LATENCY LATEST, >= 10 ms)",
        f"{int(worst[3])} ms ({worst[0].decode() if isinstance(worst[0], bytes) else worst[0]})" if worst else "none",
        "-", "-", "information")
    master.close()


if __name__ == "__main__":
    main()

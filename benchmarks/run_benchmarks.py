"""On-demand benchmarks for the shardinel client (not tests). Starts its own local servers.

Run: cd /work/main && .venv/bin/python benchmarks/run_benchmarks.py [failover] [durable]
(no word: every benchmark; "failover": benchmark 4; "durable": benchmark 5; both words: 4 and 5.)
"""

from __future__ import annotations

import collections
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit"), str(ROOT / "tests" / "unit" / "client")]

from redis.sentinel import Sentinel  # noqa: E402

from failover_writer import FailoverWriter, tag_on  # noqa: E402
from figures import print_table, row  # noqa: E402
from redis_topology import RedisTopology  # noqa: E402
from shardinel import ShardedSentinelClient, build_slot_table, key_slot  # noqa: E402


def ops_per_second(call, keys: list[str], rounds: int = 5) -> float:
    best = 0.0
    for _unused in range(rounds):
        started = time.perf_counter()
        for key in keys:
            call(key)
        best = max(best, len(keys) / (time.perf_counter() - started))
    return best


def bench_single_key(topology: RedisTopology, client: ShardedSentinelClient) -> None:
    tag = tag_on(client, "shard1", "b")
    keys = [f"{{{tag}}}:{i}" for i in range(5000)]
    plain = topology.redis_client(client.master_for_shard("shard1"), role="app")
    for label, ours, theirs in (("SET", lambda k: client.set(k, "v"), lambda k: plain.set(k, "v")),
                                ("GET", client.get, plain.get)):
        ours_rate, plain_rate = [], []
        for _unused in range(3):
            ours_rate.append(ops_per_second(ours, keys, 1))
            plain_rate.append(ops_per_second(theirs, keys, 1))
        a, b = max(ours_rate), max(plain_rate)
        row(f"1. single-key {label} ops/s", f"{a:,.0f}", f"{b:,.0f} (redis-py Redis)", f"{a / b:.3f}", "target >= 0.95")
    plain.close()


def bench_multi_key(topology: RedisTopology, client: ShardedSentinelClient) -> None:
    keys = [f"mk:{i}" for i in range(10000)]
    mapping = {k: "x" * 16 for k in keys}
    plain = topology.redis_client(client.master_for_shard("shard1"), role="app")
    for label, ours, theirs in (("MSET", lambda: client.mset(mapping), lambda: plain.mset(mapping)),
                                ("MGET", lambda: client.mget(keys), lambda: plain.mget(keys))):
        ours_t, plain_t = [], []
        for _unused in range(7):
            started = time.perf_counter()
            ours()
            ours_t.append(time.perf_counter() - started)
            started = time.perf_counter()
            theirs()
            plain_t.append(time.perf_counter() - started)
        a, b = statistics.median(ours_t), statistics.median(plain_t)
        row(f"2. {label} 10,000 keys / {len(client.shards)} shards", f"{a * 1000:.1f} ms", f"{b * 1000:.1f} ms (one server)",
            f"{a / b:.2f}x", "target <= 1.2x")
    plain.close()


def bench_distribution() -> None:
    keys = [f"user:{i}" for i in range(100000)]
    slots = [key_slot(k) for k in keys]
    digests = [int(hashlib.sha1(k.encode()).hexdigest(), 16) for k in keys]
    previous = previous_mod = None
    worst_load = worst_move = worst_mod_load = worst_mod_move = 0.0
    print("  shards  max/mean  moved(N-1->N)  limit 1.1/N | sha1 mod N: max/mean  moved")
    for count in range(2, 17):
        table = build_slot_table([f"shard{i}" for i in range(count)])
        owners = [table[s] for s in slots]
        owners_mod = [d % count for d in digests]
        load = max(collections.Counter(owners).values()) / (len(keys) / count)
        load_mod = max(collections.Counter(owners_mod).values()) / (len(keys) / count)
        moved = sum(a != b for a, b in zip(previous, owners)) / len(keys) if previous else 0.0
        moved_mod = sum(a != b for a, b in zip(previous_mod, owners_mod)) / len(keys) if previous_mod else 0.0
        worst_load, worst_mod_load = max(worst_load, load), max(worst_mod_load, load_mod)
        if previous:
            worst_move = max(worst_move, moved / (1.1 / count))
            worst_mod_move = max(worst_mod_move, moved_mod / (1.1 / count))
        print(f"  {count:6d}  {load:8.4f}  {moved:13.4f}  {1.1 / count:11.4f} | {load_mod:19.4f}  {moved_mod:.4f}")
        previous, previous_mod = owners, owners_mod
    row("3a. max/mean load, 100k keys, 2..16 shards (worst)", f"{worst_load:.4f}", f"{worst_mod_load:.4f} (sha1 mod N)",
        "-", "target <= 1.05")
    row("3b. keys moved N->N+1 as share of 1.1/(N+1) (worst)", f"{worst_move:.2f}", f"{worst_mod_move:.2f} (sha1 mod N)",
        "-", "target <= 1.00")


DURABLE_ROUNDS = 7


def bench_durable_set(topology: RedisTopology, client: ShardedSentinelClient) -> None:
    """SET through a durable_writes=1 client against the same SETs through a plain one, same keys on shard1."""
    tag = tag_on(client, "shard1", "b")
    keys = [f"{{{tag}}}:{i}" for i in range(5000)]
    with ShardedSentinelClient(topology.sentinel_addresses, durable_writes=1, **topology.client_kwargs()) as durable:
        durable_rate, plain_rate = [], []
        for _unused in range(DURABLE_ROUNDS):
            durable_rate.append(ops_per_second(lambda k: durable.set(k, "v"), keys, 1))
            plain_rate.append(ops_per_second(lambda k: client.set(k, "v"), keys, 1))
    a, b = max(durable_rate), max(plain_rate)
    row("5. single-key SET ops/s, durable_writes=1", f"{a:,.0f}", f"{b:,.0f} (shardinel, durable_writes=0)",
        f"{a / b:.3f}", "none: the cost of WAIT 1")


FAILOVER_ROUNDS = 3


def bench_failover_gap(topology: RedisTopology) -> None:
    """Plain SET writers (no WAIT) through shardinel and through redis-py's Sentinel.master_for, side by side."""
    app, sentinel_user = topology.users["app"], topology.sentinel_users["client"]
    shard = "shard1"
    ours = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    ours.wait_for_switch_listener(5)
    sentinel = Sentinel([p.address for p in topology.sentinels], socket_timeout=1,
                        sentinel_kwargs={"username": sentinel_user.username, "password": sentinel_user.password})
    theirs = sentinel.master_for(shard, username=app.username, password=app.password, socket_timeout=1)
    gaps: dict[str, list[float]] = {"ours": [], "theirs": []}
    lost = {"ours": 0, "theirs": 0}
    acked = {"ours": 0, "theirs": 0}
    for number in range(FAILOVER_ROUNDS):
        tag_ours = tag_on(ours, shard, f"o{number}-")
        writer_ours = FailoverWriter(ours, tag_ours, wait_ms=None, pause=0)
        writer_theirs = FailoverWriter(theirs, f"redis-py-{number}", wait_ms=None, pause=0)
        with writer_ours, writer_theirs:
            time.sleep(1)
            started = time.monotonic()
            old = topology.force_failover(shard)
            topology.settle_after_failover(shard, old)
            time.sleep(1)
        reader = topology.redis_client(ours.master_for_shard(shard))
        for name, writer in (("ours", writer_ours), ("theirs", writer_theirs)):
            gaps[name].append(writer.report.durable_gap(reader, started))
            missing, _replica_acked_missing = writer.report.missing(reader)
            lost[name] += missing
            acked[name] += len(writer.report.acked)
            print(f"  round {number + 1} {name}: acknowledged {len(writer.report.acked)}, lost {missing}, "
                  f"durable gap {gaps[name][-1]:.2f} s", flush=True)
        reader.close()
    gap_ours, gap_theirs = statistics.median(gaps["ours"]), statistics.median(gaps["theirs"])
    row(f"4. write gap, forced failover (durable writes, median of {FAILOVER_ROUNDS})", f"{gap_ours:.2f} s",
        f"{gap_theirs:.2f} s (redis-py master_for)", f"{gap_ours / gap_theirs:.3f}" if gap_theirs else "-",
        "target <= 1 s and <= 0.5")
    row(f"4b. acknowledged plain SETs lost ({FAILOVER_ROUNDS} failovers)", f"{lost['ours']:,} of {acked['ours']:,}",
        f"{lost['theirs']:,} of {acked['theirs']:,} (redis-py master_for)", "-", "target: near zero")
    ours.close()
    theirs.close()
    for s in sentinel.sentinels:
        s.close()


SELECTORS = ("failover", "durable")


def main() -> None:
    chosen = set(sys.argv[1:])
    if chosen - set(SELECTORS):
        sys.exit(f"usage: run_benchmarks.py [{'] ['.join(SELECTORS)}] (unknown: {' '.join(sorted(chosen - set(SELECTORS)))})")
    run_all = not chosen
    if run_all:
        print("3. key distribution and movement")
        bench_distribution()
    with tempfile.TemporaryDirectory() as tmp:
        topology = RedisTopology.start(Path(tmp), shard_count=4)
        try:
            if run_all or "durable" in chosen:
                with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
                    if run_all:
                        print("1. single-key GET/SET")
                        bench_single_key(topology, client)
                        print("2. MGET/MSET")
                        bench_multi_key(topology, client)
                    print("5. single-key SET, durable_writes=1")
                    bench_durable_set(topology, client)
            if run_all or "failover" in chosen:
                print("4. failover write gap")
                bench_failover_gap(topology)
        finally:
            topology.stop()
    print_table()


if __name__ == "__main__":
    main()

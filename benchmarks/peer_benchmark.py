"""The peer a user would pick instead: a local Redis Cluster with redis-py's RedisCluster, beside shardinel, in one run.

Starts, on 127.0.0.1 with free ports:
- shardinel's topology: 3 shards (master + replica each) and 3 Sentinels (tests/unit/redis_topology.py,
  down-after-milliseconds 1000), the app ACL user;
- a Redis Cluster of 3 masters with 1 replica each, cluster-node-timeout 1000 (the same as the Sentinels'
  down-after), on ports below 55535 (each node's bus port is its port + 10000), built with
  ``redis-cli --cluster create``.

Then measures (same keys, same value, the two clients alternating):
1. single-key SET and GET ops/s (best of 5 rounds of 5,000 keys over every shard / node);
2. MGET of 1,000 keys (RedisCluster's mget_nonatomic) and a non-transactional pipeline of 1,000 SETs
   (median of 15 each);
3. SIGKILL of the master holding a writer's keys: two plain-SET writers (no WAIT, no pause), one per client;
   the killed server is started again once the failover is done (as systemd would), and after it rejoined
   every acknowledged key is read back: the longest gap between acknowledged writes that survived, and the
   acknowledged writes lost.
Targets: ops/s ratio >= 1.0, time ratio <= 1.0 on every row.

Run: cd /work/main && .venv/bin/python benchmarks/peer_benchmark.py [--rounds N]   (about 1 min)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests" / "unit"), str(ROOT / "tests" / "unit" / "client")]

import redis  # noqa: E402
from redis.cluster import ClusterNode, RedisCluster  # noqa: E402

from failover_writer import FailoverWriter, tag_on  # noqa: E402
from figures import print_table, row  # noqa: E402
from redis_topology import DOWN_AFTER_MS, HOST, REDIS_SERVER, RedisTopology  # noqa: E402
from shardinel import ShardedSentinelClient  # noqa: E402

CLUSTER_NODES = 6
BUS_OFFSET = 10000
SINGLE_KEYS = 5000
THROUGHPUT_ROUNDS = 5
BATCH = 1000
BATCH_ROUNDS = 15
VALUE = "v" * 16
SOCKET_TIMEOUT = 1.0


class LocalCluster:
    """A Redis Cluster of CLUSTER_NODES redis-server processes (3 masters, 1 replica each) in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = free_cluster_ports(CLUSTER_NODES)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start_node(self, port: int) -> None:
        node_dir = self.directory / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        argv = [REDIS_SERVER, "--bind", HOST, "--port", str(port), "--dir", str(node_dir), "--save", "",
                "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(DOWN_AFTER_MS), "--daemonize", "no", "--protected-mode", "no",
                "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        with open(node_dir / "redis.log", "ab") as log:
            self.processes[port] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                                    start_new_session=True)
        wait_for(lambda: answers(port), 15, f"cluster node {port} to answer")

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        subprocess.run(["redis-cli", "--cluster", "create", *[f"{HOST}:{p}" for p in self.ports],
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, stdout=subprocess.DEVNULL)
        wait_for(self.healthy, 60, "the cluster to be ok on every node with 3 masters and 3 in-sync replicas")

    def healthy(self) -> bool:
        masters = replicas = 0
        for port in self.ports:
            node = redis.Redis(host=HOST, port=port, socket_timeout=1, decode_responses=True)
            try:
                if node.cluster("info").get("cluster_state") != "ok":
                    return False
                info = node.info("replication")
            except redis.RedisError:
                return False
            finally:
                node.close()
            if info["role"] == "master":
                masters += 1
            elif info.get("master_link_status") == "up":
                replicas += 1
        return masters == 3 and replicas == 3

    def master_of(self, key: str) -> int:
        """The port of the master serving the key's slot, as the first node that answers sees it."""
        for port in self.ports:
            node = redis.Redis(host=HOST, port=port, socket_timeout=1, decode_responses=True)
            try:
                slot = node.cluster("keyslot", key)
                for start, end, master, *_replicas in node.cluster("slots"):
                    if start <= slot <= end:
                        return int(master[1])
            except redis.RedisError:
                continue
            finally:
                node.close()
        raise RuntimeError(f"no node names the master of {key}'s slot")

    def kill(self, port: int) -> None:
        os.killpg(self.processes[port].pid, signal.SIGKILL)
        self.processes[port].wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def free_cluster_ports(count: int) -> list[int]:
    """Free ports below 55535 whose bus port (port + 10000) is free too."""
    ports: list[int] = []
    candidate = 20000 + os.getpid() % 10000
    while len(ports) < count:
        candidate += 1
        if candidate + BUS_OFFSET >= 65535:
            candidate = 20000
        if all(port_free(p) for p in (candidate, candidate + BUS_OFFSET)):
            ports.append(candidate)
    return ports


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def answers(port: int) -> bool:
    node = redis.Redis(host=HOST, port=port, socket_timeout=1)
    try:
        return bool(node.ping())
    except redis.RedisError:
        return False
    finally:
        node.close()


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def ops_per_second(call: Callable[[str], Any], keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        call(key)
    return len(keys) / (time.perf_counter() - started)


def median_ms(call: Callable[[], Any], rounds: int = BATCH_ROUNDS) -> float:
    times = []
    for _unused in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench_throughput(ours: ShardedSentinelClient, cluster: RedisCluster) -> None:
    keys = [f"peer:{i}" for i in range(SINGLE_KEYS)]
    for label, mine, theirs in (("SET", lambda k: ours.set(k, VALUE), lambda k: cluster.set(k, VALUE)),
                                ("GET", ours.get, cluster.get)):
        rates_ours, rates_theirs = [], []
        for _unused in range(THROUGHPUT_ROUNDS):
            rates_ours.append(ops_per_second(mine, keys))
            rates_theirs.append(ops_per_second(theirs, keys))
        a, b = max(rates_ours), max(rates_theirs)
        row(f"P1. single-key {label} ops/s, 3 shards", f"{a:,.0f}", f"{b:,.0f} (RedisCluster)", f"{a / b:.2f}x",
            "target >= 1.0x")


def bench_batches(ours: ShardedSentinelClient, cluster: RedisCluster) -> None:
    keys = [f"batch:{i}" for i in range(BATCH)]
    ours.mset({k: VALUE for k in keys})

    def our_pipeline() -> None:
        pipe = ours.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, VALUE)
        pipe.execute()

    def their_pipeline() -> None:
        pipe = cluster.pipeline()
        for key in keys:
            pipe.set(key, VALUE)
        pipe.execute()

    for label, mine, theirs, reference in (
            (f"MGET of {BATCH:,} keys", lambda: ours.mget(keys), lambda: cluster.mget_nonatomic(keys), "mget_nonatomic"),
            (f"pipeline of {BATCH:,} SETs", our_pipeline, their_pipeline, "pipeline")):
        median_ms(mine, 3)
        median_ms(theirs, 3)
        a, b = [], []
        for _unused in range(BATCH_ROUNDS):
            a.append(median_ms(mine, 1))
            b.append(median_ms(theirs, 1))
        ta, tb = statistics.median(a), statistics.median(b)
        row(f"P2. {label}, 3 shards", f"{ta:.2f} ms", f"{tb:.2f} ms (RedisCluster {reference})", f"{ta / tb:.2f}x",
            "target <= 1.0x")


class ClusterReader:
    """mget() for WriterReport over a RedisCluster."""

    def __init__(self, cluster: RedisCluster) -> None:
        self.cluster = cluster

    def mget(self, keys: list[str]) -> list[Any]:
        return self.cluster.mget_nonatomic(keys)


def bench_kill(topology: RedisTopology, ours: ShardedSentinelClient, local: LocalCluster, cluster: RedisCluster,
               rounds: int) -> None:
    gaps: dict[str, list[float]] = {"ours": [], "theirs": []}
    lost = {"ours": 0, "theirs": 0}
    acked = {"ours": 0, "theirs": 0}
    for number in range(rounds):
        shard = topology.shards[number % len(topology.shards)].name
        tag_ours = tag_on(ours, shard, f"k{number}-")
        tag_theirs = f"kill{number}"
        victim_port = local.master_of(f"{{{tag_theirs}}}")
        writer_ours = FailoverWriter(ours, tag_ours, wait_ms=None, pause=0)
        writer_theirs = FailoverWriter(cluster, tag_theirs, wait_ms=None, pause=0)
        with writer_ours, writer_theirs:
            time.sleep(1)
            started = time.monotonic()
            master = topology.process_at(ours.master_for_shard(shard))
            master.kill(signal.SIGKILL)
            local.kill(victim_port)
            new = topology.wait_for_master_agreement(shard, not_address=master.address)
            wait_for(lambda: local.master_of(f"{{{tag_theirs}}}") != victim_port, 30, "the cluster to promote a replica")
            topology.restart(master)
            local.start_node(victim_port)
            topology.wait_for_role(master.address, "slave")
            topology.wait_for_replica_in_sync(master.address)
            wait_for(local.healthy, 60, "the killed cluster node to rejoin as an in-sync replica")
            time.sleep(1)
        reader = topology.redis_client(new, role="app")
        for name, writer, source in (("ours", writer_ours, reader), ("theirs", writer_theirs, ClusterReader(cluster))):
            gaps[name].append(writer.report.durable_gap(source, started))
            missing, _replica_acked = writer.report.missing(source)
            lost[name] += missing
            acked[name] += len(writer.report.acked)
            print(f"  round {number + 1} {name}: acknowledged {len(writer.report.acked):,}, lost {missing:,}, "
                  f"longest gap {gaps[name][-1]:.2f} s", flush=True)
        reader.close()
    a, b = statistics.median(gaps["ours"]), statistics.median(gaps["theirs"])
    row(f"P3. longest write gap, SIGKILLed master (median of {rounds})", f"{a:.2f} s", f"{b:.2f} s (RedisCluster)",
        f"{a / b:.2f}x" if b else "-", "target <= 1.0x")
    row(f"P3b. acknowledged writes lost ({rounds} kills)", f"{lost['ours']:,} of {acked['ours']:,}",
        f"{lost['theirs']:,} of {acked['theirs']:,} (RedisCluster)", "-", "target: 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=1, help="SIGKILL rounds (default 1)")
    parser.add_argument("--skip-kill", action="store_true", help="only the throughput and batch rows")
    args = parser.parse_args()
    if shutil.which("redis-cli") is None:
        sys.exit("redis-cli (Debian package redis-tools) is needed to create the Redis Cluster")
    with tempfile.TemporaryDirectory() as tmp:
        topology = RedisTopology.start(Path(tmp) / "sentinel", shard_count=3)
        local = LocalCluster(Path(tmp) / "cluster")
        try:
            local.start()
            with ShardedSentinelClient(topology.sentinel_addresses, socket_timeout=SOCKET_TIMEOUT,
                                       socket_connect_timeout=SOCKET_TIMEOUT, **topology.client_kwargs()) as ours, \
                    RedisCluster(startup_nodes=[ClusterNode(HOST, p) for p in local.ports], socket_timeout=SOCKET_TIMEOUT,
                                 socket_connect_timeout=SOCKET_TIMEOUT) as cluster:
                ours.wait_for_switch_listener(5)
                print("P1. single-key SET/GET")
                bench_throughput(ours, cluster)
                print("P2. MGET and pipeline of 1,000 keys")
                bench_batches(ours, cluster)
                if not args.skip_kill:
                    print("P3. SIGKILL of a master under plain-SET writers")
                    bench_kill(topology, ours, local, cluster, args.rounds)
        finally:
            local.stop()
            topology.stop()
    print_table(reference_header="redis-py RedisCluster")


if __name__ == "__main__":
    main()

"""Run the witness scenario's fault drills in sequence and write their report (JSON) for the verifier.

Run by side_effect.yml under molecule (it needs MOLECULE_INVENTORY_FILE and MOLECULE_EPHEMERAL_DIRECTORY).
Every drill: wait until the topology is settled and no Sentinel is in TILT, start one writer per shard on each
long-lived client, inject the fault, wait for the failover, undo the fault, wait for the topology to settle,
count the acknowledged writes that are gone, then converge again and check that it changed nothing and kept
every master where Sentinel put it. The last drill runs after a converge that turns the write guard on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import redis

# scenario puts the client package and the unit tests' writer on sys.path.
from scenario import DATA_HOSTS, DOWN_AFTER_S, FAILOVER_TIMEOUT_S, SECRETS, SENTINELS, SHARDS, instance
import cluster
import drills
import faults
from converge import converge
from shardinel import ShardedSentinelClient
from table import format_report
from traffic import Traffic

WARMUP = 2.0
TAIL = 2.0
DURABLE_TIMEOUT = 0.5
SOCKET_TIMEOUT = 1.5
GUARD = {"redis_server_min_replicas_to_write": 1, "redis_server_min_replicas_max_lag": 2}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _clients() -> dict[str, ShardedSentinelClient]:
    common = {"username": "app", "password": SECRETS["shardinel_app_password"], "sentinel_username": "sentinel-client",
              "sentinel_password": SECRETS["shardinel_sentinel_client_password"], "failover_timeout": 30.0,
              "socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT}
    clients = {"plain": ShardedSentinelClient(SENTINELS, **common),
               "durable": ShardedSentinelClient(SENTINELS, durable_writes=1, durable_timeout=DURABLE_TIMEOUT, **common)}
    for client in clients.values():
        client.wait_for_switch_listener(10)
    return clients


class Drills:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.extra_vars: dict[str, Any] = {}
        self.clients = _clients()
        self.report: dict[str, Any] = {"settings": {
            "down_after_s": DOWN_AFTER_S, "failover_timeout_s": FAILOVER_TIMEOUT_S, "durable_timeout_s": DURABLE_TIMEOUT,
            "socket_timeout_s": SOCKET_TIMEOUT, "guard": GUARD, "shards": list(SHARDS)}, "drills": []}

    def save(self) -> None:
        (self.out / "witness-drills.json").write_text(json.dumps(self.report, indent=2), encoding="utf-8")

    def _converge(self, record: dict[str, Any], key: str = "converge") -> None:
        before = cluster.layout()
        _log(f"converge after {record['name']} (extra vars {self.extra_vars or 'none'})")
        record[key] = converge(self.out / f"converge-{record['name']}.log", self.extra_vars)
        cluster.wait_settled(drills.SETTLE_WAIT, tilt_allowed=True)
        after = cluster.layout()
        record["masters_kept_by_converge"] = before == after
        record["layout_after_converge"] = after
        _log(f"converge: changed={record[key]['changed']} failed={record[key]['failed']} ({record[key]['seconds']} s)")

    def drill(self, name: str, body: Callable[[Traffic, dict[str, str], dict[str, Any]], None], modes: tuple[str, ...]) -> None:
        record: dict[str, Any] = {"name": name, "modes": list(modes), "guard": dict(self.extra_vars)}
        self.report["drills"].append(record)
        started = time.monotonic()
        try:
            record["tilted_at_start"] = cluster.tilted_sentinels()
            _log(f"{name}: waiting for a settled topology with no Sentinel in TILT (in TILT now: {record['tilted_at_start']})")
            record["waited_before_s"] = round(cluster.wait_settled(drills.SETTLE_WAIT), 1)
            layout = record["layout_before"] = cluster.layout()
            with Traffic({m: self.clients[m] for m in modes}, name) as traffic:
                time.sleep(WARMUP)
                _log(f"{name}: fault on {drills.busiest_host(layout)} with writers running")
                body(traffic, layout, record)
                time.sleep(TAIL)
            monitor = traffic.monitor
            record["failover_seconds"] = monitor.since_fault(monitor.sentinel_switch)
            record["client_switch_seconds"] = monitor.since_fault(monitor.client_switch)
            record["reference_sentinel_events"] = {shard: monitor.since_fault(events) for shard, events in monitor.events.items()}
            record["writers"] = traffic.results(list(monitor.sentinel_switch))
            record["instances_answering_master"] = cluster.masters()
            record["layout_after"] = cluster.layout()
            _log(f"{name}: failover {record['failover_seconds']}, lost "
                 f"{sum(r['lost'] for r in record['writers'])} of {sum(r['acknowledged'] for r in record['writers'])} acknowledged")
        except (RuntimeError, OSError, ValueError, KeyError, subprocess.SubprocessError, redis.RedisError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            _log(f"{name}: ERROR {record['error']}\n{traceback.format_exc()}")
        finally:
            faults.heal()
            for host in DATA_HOSTS:
                faults.recover(host)
        record["seconds"] = round(time.monotonic() - started, 1)
        self._converge(record)
        self.save()

    def guard_on(self) -> None:
        record: dict[str, Any] = {"name": "guard-converge", "extra_vars": GUARD}
        self.report["drills"].append(record)
        self.extra_vars = dict(GUARD)
        self._converge(record, key="apply")
        record["min_replicas_to_write"] = {
            f"{host}/{shard}": cluster.redis_admin(instance(host, shard)).config_get("min-replicas-to-write")["min-replicas-to-write"]
            for host in DATA_HOSTS for shard in SHARDS}
        self.save()

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.drill("freeze", drills.freeze, ("plain",))
            self.drill("kill", drills.kill, ("plain",))
            self.drill("partition", drills.partition, ("plain", "durable"))
            self.drill("crash-during-resync", drills.crash_during_resync, ("plain", "durable"))
            self.guard_on()
            self.drill("partition-guarded", drills.partition, ("plain", "durable"))
        finally:
            self.report["seconds"] = round(time.monotonic() - started, 1)
            self.save()
            for client in self.clients.values():
                client.close()


def main() -> int:
    out = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "."))
    runner = Drills(out)
    runner.run()
    print(format_report(runner.report), flush=True)
    return 1 if any("error" in d for d in runner.report["drills"]) else 0


if __name__ == "__main__":
    sys.exit(main())

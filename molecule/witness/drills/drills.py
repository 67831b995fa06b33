"""The fault drills. Each body runs while the writers write: it injects the fault, waits for the reference
Sentinel to name new masters, undoes the fault and waits for the topology to settle (TILT allowed)."""

from __future__ import annotations

import time
from typing import Any

import cluster
import faults
from scenario import DATA_HOSTS, IPS, SHARDS, instance, label
from traffic import Traffic

FAILOVER_WAIT = 40.0
SETTLE_WAIT = 120.0
# Writes keep going this long on the new masters before the fault is undone.
HOLD = 3.0
# Replica down this long before it restarts, then the master is crashed this long after its restart
# (while the master waits repl-diskless-sync-delay before sending it anything).
REPLICA_DOWN = 2.0
CRASH_AFTER_RESTART = 1.0
RESYNC_SYNC_DELAY = 5


def busiest_host(layout: dict[str, str]) -> str:
    """The data host that holds the most masters (the first one on a tie)."""
    return max(DATA_HOSTS, key=lambda h: (sum(1 for host in layout.values() if host == h), -DATA_HOSTS.index(h)))


def _await_failover(traffic: Traffic, shards: list[str], record: dict[str, Any]) -> None:
    record["failed_over_all"] = traffic.monitor.wait_switch(shards, FAILOVER_WAIT)
    if not record["failed_over_all"]:
        raise RuntimeError(f"no failover of {shards} within {FAILOVER_WAIT:.0f} s")


def _host_fault(traffic: Traffic, layout: dict[str, str], record: dict[str, Any], fault: str, repair: str) -> str:
    """Apply ``podman fault`` to the busiest data host, wait for its masters' failover, then ``podman repair``."""
    target = record["target"] = busiest_host(layout)
    shards = record["target_shards"] = [s for s, h in layout.items() if h == target]
    traffic.monitor.mark_fault()
    faults.podman(fault, target)
    try:
        _await_failover(traffic, shards, record)
        time.sleep(HOLD)
    finally:
        faults.podman(repair, target)
    record["restored_at"] = round(time.monotonic() - traffic.monitor.fault_at, 2)
    return target


def freeze(traffic: Traffic, layout: dict[str, str], record: dict[str, Any]) -> None:
    _host_fault(traffic, layout, record, "pause", "unpause")
    time.sleep(1.5)
    record["tilt_after_resume"] = cluster.tilted_sentinels()
    record["settle_seconds"] = round(cluster.wait_settled(SETTLE_WAIT, tilt_allowed=True), 1)


def _watch_restarted(host: str, timeout: float) -> dict[str, float]:
    """{instance: seconds it answered ROLE as master after the restart} until all are replicas of the current master."""
    first_master: dict[str, float] = {}
    as_master: dict[str, float] = {}
    started = time.monotonic()
    pending = set(SHARDS)
    while pending and time.monotonic() - started < timeout:
        for shard in list(pending):
            reply = cluster.role(instance(host, shard))
            now = time.monotonic()
            if reply is None:
                continue
            name = label(instance(host, shard))
            if reply[0] == "master":
                first_master.setdefault(name, now)
            elif reply[0] == "slave" and reply[3] == "connected":
                pending.discard(shard)
                if name in first_master:
                    as_master[name] = round(now - first_master[name], 1)
        time.sleep(0.2)
    for shard in pending:
        as_master[label(instance(host, shard))] = -1.0
    return as_master


def kill(traffic: Traffic, layout: dict[str, str], record: dict[str, Any]) -> None:
    target = _host_fault(traffic, layout, record, "kill", "start")
    # -1: never seen as a connected replica before the timeout.
    record["answered_as_master_after_restart"] = _watch_restarted(target, SETTLE_WAIT)
    record["settle_seconds"] = round(cluster.wait_settled(SETTLE_WAIT, tilt_allowed=True), 1)


def _unbound_links(host: str) -> list[str]:
    """Replication and Sentinel connections into the host's instances that do not come from a host address
    (bind-source-addr missing): the partition's rules would not cut them."""
    out = []
    for shard in SHARDS:
        for client in cluster.redis_admin(instance(host, shard)).client_list():
            ip = client["addr"].rsplit(":", 1)[0]
            if ip not in IPS.values() and ("S" in client["flags"] or "M" in client["flags"] or client["name"].startswith("sentinel-")):
                out.append(f"{label(instance(host, shard))} <- {client['addr']} flags={client['flags']} name={client['name']}")
    return out


def partition(traffic: Traffic, layout: dict[str, str], record: dict[str, Any]) -> None:
    target = record["target"] = busiest_host(layout)
    shards = record["target_shards"] = [s for s, h in layout.items() if h == target]
    monitor = traffic.monitor
    record["links_not_from_host_address"] = _unbound_links(target)
    monitor.probe({s: instance(target, s) for s in shards})
    with faults.partition(target):
        fault_at = monitor.mark_fault()
        _await_failover(traffic, shards, record)
        time.sleep(HOLD + 2)
        healed_at = time.monotonic()
    monitor.probe({})
    record["restored_at"] = round(healed_at - fault_at, 2)
    # Seconds after the cut: the isolated old master's last accepted probe write, and its first refusal.
    record["isolated_master_last_write"] = {s: round(max([t for t in ok if t < healed_at], default=fault_at) - fault_at, 2)
                                            for s, ok in monitor.probe_ok.items()}
    record["isolated_master_refused_from"] = {s: round(min(t for t in times if t >= fault_at) - fault_at, 2)
                                              for s, times in monitor.probe_refused.items()
                                              if any(fault_at <= t < healed_at for t in times)}
    record["client_followed_before_heal"] = all(monitor.client_switch.get(s, healed_at) < healed_at for s in shards)
    record["settle_seconds"] = round(cluster.wait_settled(SETTLE_WAIT, tilt_allowed=True), 1)


def crash_during_resync(traffic: Traffic, layout: dict[str, str], record: dict[str, Any]) -> None:
    """Restart the replicas of the busiest host's masters (at most two shards) and SIGKILL those masters while
    the replicas wait for their full sync: the master's repl-diskless-sync-delay is raised to Redis's own
    default (5 s) for this drill, so the resync window is long enough to hit every time."""
    master_host = record["target"] = busiest_host(layout)
    replica_host = next(h for h in DATA_HOSTS if h != master_host)
    shards = record["target_shards"] = [s for s, h in layout.items() if h == master_host][:2]
    masters = [cluster.redis_admin(instance(master_host, s)) for s in shards]
    restore = [m.config_get("repl-diskless-sync-delay")["repl-diskless-sync-delay"] for m in masters]
    killed = False
    try:
        for master in masters:
            master.config_set("repl-diskless-sync-delay", RESYNC_SYNC_DELAY)
        for shard in shards:
            faults.systemctl(replica_host, "stop", f"shardinel-redis@{shard}.service")
        time.sleep(REPLICA_DOWN)
        for shard in shards:
            faults.systemctl(replica_host, "start", f"shardinel-redis@{shard}.service")
        time.sleep(CRASH_AFTER_RESTART)
        record["replica_at_crash"] = {}
        for shard in shards:
            info = cluster.ask(lambda s=shard: cluster.redis_admin(instance(replica_host, s)).info("replication")) or {}
            record["replica_at_crash"][shard] = {k: info.get(k) for k in ("master_link_status", "master_sync_in_progress")}
        traffic.monitor.mark_fault()
        for shard in shards:
            faults.systemctl(master_host, "kill", "--signal=SIGKILL", f"shardinel-redis@{shard}.service")
        killed = True
        _await_failover(traffic, shards, record)
    finally:
        if not killed:
            for master, value in zip(masters, restore):
                cluster.ask(lambda m=master, v=value: m.config_set("repl-diskless-sync-delay", v))
            for shard in shards:
                faults.systemctl(replica_host, "start", f"shardinel-redis@{shard}.service")
    record["settle_seconds"] = round(cluster.wait_settled(SETTLE_WAIT, tilt_allowed=True), 1)

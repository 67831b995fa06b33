"""Restart one shard instance without a write outage, or check that every shard can lose one instance.

Usage: python3 redis-restart < settings.json    (prints a JSON report on stdout; exit 1 with the reason on stderr)

settings (JSON on stdin, never on the command line: it holds passwords):
    {"action": "restart" | "switchover" | "check",
     "shard": "shard1", "address": "ip:port", "unit": "shardinel-redis@shard1.service",   (restart, switchover)
     "shards": ["shard1", ...],                                                           (check)
     "sentinels": ["ip:port", ...], "cli": ["/usr/bin/redis-cli", "--tls", ...],
     "sentinel_user": ..., "sentinel_password": ...,   (a Sentinel user that may run SENTINEL FAILOVER)
     "user": ..., "password": ...,                     (a Redis user that may run ROLE and REPLICAOF)
     "host_layout": "/usr/local/libexec/shardinel/host_layout.py", "timeout": 120}

switchover: when the instance is its shard's master, SENTINEL FAILOVER (retried while Sentinel answers INPROG or
NOGOODSLAVE), then wait until every Sentinel names the new master and it reports ROLE master: the shard takes no
write in between (the shardinel client holds a shard's commands from the failover's start to +switch-master).
Then the old master is pointed at the new one (what Sentinel does on its next INFO, up to 10 s later) and the
wait goes on until it reports ROLE slave of it with its link connected. Nothing happens to a replica.
restart: switchover, wait until the instance is not loading, syncing or rewriting its AOF (Redis ignores SIGTERM
while it writes the AOF that follows a full sync), systemctl restart, then wait until the instance reports ROLE slave
of the master with its link connected, and every Sentinel lists it as a replica, up, with master-link-status ok, from
an INFO it sent after the restart (Sentinel asks replicas every 10 s).
check: for each shard, whether every Sentinel answers and names the same master, and which replicas every
Sentinel lists as in sync.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

POLL = 0.1
QUERY_TIMEOUT = 3.0
RETRIED_FAILOVER_ERRORS = ("INPROG", "NOGOODSLAVE")
DOWN_FLAGS = {"s_down", "o_down", "disconnected"}


class RestartError(Exception):
    pass


def load_host_layout(path):
    """The roles' host_layout.py (installed next to this file), which holds the one CLI query of many addresses."""
    spec = importlib.util.spec_from_file_location("host_layout", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Topology:
    def __init__(self, settings):
        self.settings = settings
        self.cli = settings.get("cli", ["redis-cli"])
        self.sentinels = settings.get("sentinels", [])
        self.timeout = float(settings.get("timeout", 120))
        self.ask = load_host_layout(settings["host_layout"]).ask_sentinels

    def sentinel_answers(self, *command):
        """{Sentinel address: JSON answer} of the Sentinels that answered."""
        return self.ask(self.sentinels, self.cli, self.settings["sentinel_user"], self.settings.get("sentinel_password", ""),
                        list(command), QUERY_TIMEOUT)

    def role(self, address):
        """ROLE of a Redis instance as a list, or [] when it does not answer."""
        answer = self.ask([address], self.cli, self.settings["user"], self.settings.get("password", ""), ["ROLE"], QUERY_TIMEOUT)
        return answer.get(address) if isinstance(answer.get(address), list) else []

    def text(self, address, user, password, *command):
        """A command whose reply is text (or an error to read): its output, stripped."""
        host, port = address.rsplit(":", 1)
        argv = list(self.cli) + ["--no-auth-warning", "--user", user, "-h", host.strip("[]"), "-p", port] + list(command)
        try:
            result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=QUERY_TIMEOUT, check=False,
                                    env=dict(os.environ, REDISCLI_AUTH=password or ""))
        except subprocess.TimeoutExpired:
            return "timed out after %gs" % QUERY_TIMEOUT
        return result.stdout.decode("utf-8", "replace").strip()

    def masters(self, shard):
        """{Sentinel address: "ip:port" it names as the shard's master, with its flags}."""
        views = {}
        for sentinel, state in self.sentinel_answers("SENTINEL", "MASTER", shard).items():
            if isinstance(state, dict) and "ip" in state:
                views[sentinel] = ("%s:%s" % (state["ip"], state["port"]), set(state.get("flags", "").split(",")))
        return views

    def agreed_master(self, shard):
        """The master every Sentinel names, none of them seeing it down, or None."""
        views = self.masters(shard)
        addresses = {address for address, _flags in views.values()}
        if len(views) != len(self.sentinels) or len(addresses) != 1 or any(flags & DOWN_FLAGS for _a, flags in views.values()):
            return None
        return addresses.pop()

    def replica_views(self, shard):
        """{Sentinel address: {replica "ip:port": its entry}} of the Sentinels that answered."""
        views = {}
        for sentinel, replicas in self.sentinel_answers("SENTINEL", "REPLICAS", shard).items():
            if isinstance(replicas, list):
                views[sentinel] = {"%s:%s" % (r["ip"], r["port"]): r for r in replicas if isinstance(r, dict) and "ip" in r}
        return views

    def in_sync_everywhere(self, shard, address, master, since=None):
        """Every Sentinel lists address as a replica of master, up, with its link ok, from an INFO newer than ``since``."""
        views = self.replica_views(shard)
        if len(views) != len(self.sentinels):
            return False
        for replicas in views.values():
            entry = replicas.get(address)
            if not entry or set(entry.get("flags", "").split(",")) & DOWN_FLAGS or entry.get("role-reported") != "slave" \
                    or entry.get("master-link-status") != "ok" or "%s:%s" % (entry.get("master-host"), entry.get("master-port")) != master:
                return False
            if since is not None and int(entry.get("info-refresh", 10 ** 9)) / 1000.0 > time.monotonic() - since:
                return False
        return True

    def wait(self, check, what):
        deadline = time.monotonic() + self.timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise RestartError("timed out after %gs waiting for %s" % (self.timeout, what() if callable(what) else what))
            time.sleep(POLL)

    def describe(self, shard):
        views = self.masters(shard)
        told = ", ".join("%s names %s (%s)" % (s, a, ",".join(sorted(f))) for s, (a, f) in sorted(views.items()))
        silent = sorted(set(self.sentinels) - set(views))
        return told + ("; no answer from %s" % ", ".join(silent) if silent else "")

    def info(self, address, *sections):
        """INFO of the sections as a dict of strings ({} when the instance does not answer)."""
        text = self.text(address, self.settings["user"], self.settings.get("password", ""), "INFO", *sections)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))

    def ready_to_stop(self, address):
        """Not loading, syncing or rewriting its AOF: Redis ignores SIGTERM while it writes the AOF that follows a full
        sync ("Writing initial AOF, can't exit"), and systemd would wait TimeoutStopSec, then kill it."""
        info = self.info(address, "persistence", "replication")
        busy = ("loading", "aof_rewrite_in_progress", "aof_rewrite_scheduled", "master_sync_in_progress")
        return bool(info) and all(info.get(key, "0").strip() == "0" for key in busy)

    def connected_replica_of(self, address, master):
        role = self.role(address)
        return role[:4] == ["slave", master.rsplit(":", 1)[0], int(master.rsplit(":", 1)[1]), "connected"]

    def wait_connected(self, address, master):
        self.wait(lambda: self.connected_replica_of(address, master),
                  lambda: "%s to report ROLE slave of %s, connected (it reports %s)" % (address, master, self.role(address)))

    def wait_replica(self, shard, address, master, since):
        """Until address reports ROLE slave of master, connected, and every Sentinel saw it so after ``since``."""
        self.wait_connected(address, master)
        self.wait(lambda: self.in_sync_everywhere(shard, address, master, since),
                  "every Sentinel to list %s as a replica of %s with its link ok" % (address, master))

    def request_failover(self, shard):
        """SENTINEL FAILOVER on the first Sentinel that accepts it, retried while a failover is in progress or no
        replica is eligible yet."""
        last = []

        def accepted():
            del last[:]
            for sentinel in self.sentinels:
                reply = self.text(sentinel, self.settings["sentinel_user"], self.settings.get("sentinel_password", ""),
                                  "SENTINEL", "FAILOVER", shard)
                if reply == "OK":
                    return sentinel
                if "NOPERM" in reply or "may not run" in reply:
                    raise RestartError("SENTINEL FAILOVER %s refused by %s: %s (it needs the Sentinel admin user)"
                                       % (shard, sentinel, reply))
                last.append("%s: %s" % (sentinel, reply))
                if any(code in reply for code in RETRIED_FAILOVER_ERRORS):
                    return None
            return None
        return self.wait(accepted, lambda: "a Sentinel to accept SENTINEL FAILOVER %s (%s)" % (shard, "; ".join(last)))

    def switchover(self, shard, address, report):
        """Fail the shard over when address is its master; fills report."""
        master = self.wait(lambda: self.agreed_master(shard),
                           lambda: "every Sentinel to name the same master of %s, up (%s)" % (shard, self.describe(shard)))
        report["master_before"] = master
        if master != address:
            return
        if (self.role(address) or [None])[0] != "master":
            raise RestartError("the Sentinels name %s master of %s but it does not report ROLE master" % (address, shard))
        started = time.monotonic()
        report["failover_sentinel"] = self.request_failover(shard)

        def promoted():
            new = self.agreed_master(shard)
            return new if new not in (None, address) and (self.role(new) or [None])[0] == "master" else None
        new_master = self.wait(promoted, lambda: "every Sentinel to name a new master of %s (%s)" % (shard, self.describe(shard)))
        report["failover_s"] = round(time.monotonic() - started, 2)
        report["new_master"] = new_master
        switched = time.monotonic()
        self.demote(address, new_master)
        report["demoted_s"] = round(time.monotonic() - switched, 2)

    def demote(self, address, new_master):
        """REPLICAOF new_master on the old master, then wait until it is a connected replica. Sentinel may have
        converted it already, and then Redis answers "OK Already connected to specified master"."""
        host, port = new_master.rsplit(":", 1)
        reply = self.text(address, self.settings["user"], self.settings.get("password", ""), "REPLICAOF", host, port)
        if not reply.startswith("OK"):
            raise RestartError("REPLICAOF %s on the old master %s: %s" % (new_master, address, reply))
        self.wait_connected(address, new_master)

    def restart(self, shard, address, unit, report):
        self.switchover(shard, address, report)
        master = report.get("new_master") or report["master_before"]
        if master == address:
            raise RestartError("%s is still the master of %s" % (address, shard))
        self.wait(lambda: self.ready_to_stop(address), "%s to finish loading, syncing and rewriting its AOF" % address)
        started = time.monotonic()
        result = subprocess.run(["systemctl", "restart", unit], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise RestartError("systemctl restart %s: %s" % (unit, result.stdout.decode("utf-8", "replace").strip()))
        report["restart_s"] = round(time.monotonic() - started, 2)
        self.wait_replica(shard, address, master, started)
        report["back_s"] = round(time.monotonic() - started, 2)
        report["restarted"] = True

    def check(self, shards):
        """{"sentinels_answering": [...], "shards": {name: {"master", "in_sync_replicas", "problems"}}}."""
        answering = sorted(self.sentinel_answers("PING"))
        out = {"sentinels": list(self.sentinels), "sentinels_answering": answering, "shards": {}}
        for shard in shards:
            problems = []
            master = self.agreed_master(shard)
            if master is None:
                problems.append("the Sentinels do not all name the same master, up: %s" % self.describe(shard))
            elif (self.role(master) or [None])[0] != "master":
                problems.append("%s does not report ROLE master" % master)
            views = self.replica_views(shard)
            candidates = sorted({address for replicas in views.values() for address in replicas})
            in_sync = [address for address in candidates
                       if master and self.connected_replica_of(address, master) and self.in_sync_everywhere(shard, address, master)]
            if not in_sync:
                problems.append("no replica that every Sentinel lists as in sync")
            out["shards"][shard] = {"master": master, "in_sync_replicas": in_sync, "problems": problems}
        return out


def main():
    try:
        settings = json.load(sys.stdin)
        topology = Topology(settings)
        action = settings.get("action", "restart")
        if action == "check":
            report = topology.check(settings.get("shards", []))
        else:
            report = {"shard": settings["shard"], "address": settings["address"], "action": action, "restarted": False}
            started = time.monotonic()
            if action == "restart":
                topology.restart(settings["shard"], settings["address"], settings["unit"], report)
            elif action == "switchover":
                topology.switchover(settings["shard"], settings["address"], report)
            else:
                raise RestartError("unknown action %r" % action)
            report["total_s"] = round(time.monotonic() - started, 2)
    except (RestartError, OSError, KeyError, ValueError, TypeError, ImportError) as error:
        sys.stderr.write("redis-restart: %s\n" % error)
        return 1
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

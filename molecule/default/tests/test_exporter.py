"""Metrics (role redis_exporter): one exporter per instance and Sentinel shows each one up, with its role and
replicas, before and after a failover; the monitor user is read-only and its password is never in a unit or on a
command line. Skipped where the scenario's group_vars give the monitor user no password."""

import re
import shlex
import time

import pytest

from expected import (BOOTSTRAP, EXPORTER, EXPORTER_PORT, EXPORTER_SENTINEL_PORT, HOSTS, MONITOR_PASSWORD, SENTINEL_PORTS,
                      address, sentinel_addresses)

pytestmark = pytest.mark.skipif(not EXPORTER, reason="the scenario does not enable the exporter (no shardinel_monitor_password)")

UNIT = "shardinel-redis-exporter@{}.service"
# Exporter ports: the shard at position i of the layout, the host's j-th Sentinel.
SHARD_EXPORTERS = {shard: (f"shard-{shard}", EXPORTER_PORT + i) for i, shard in enumerate(BOOTSTRAP)}
SENTINEL_EXPORTERS = [(f"sentinel-{port}", EXPORTER_SENTINEL_PORT + j) for j, port in enumerate(SENTINEL_PORTS)]
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"


def _metrics(host, ip, port):
    """{name: [(labels, value)]} from the exporter's /metrics, fetched inside the host."""
    text = host.check_output(f"python3 -c {shlex.quote(FETCH)} http://{ip}:{port}/metrics")
    samples = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            name, labels, value = match.groups()
            samples.setdefault(name, []).append((dict(LABEL.findall(labels or "")), float(value)))
    return samples


def _value(samples, name, **labels):
    found = [value for sample_labels, value in samples.get(name, []) if labels.items() <= sample_labels.items()]
    return found[0] if len(found) == 1 else None


def _eventually(check, what, seconds=60):
    """Polls check() (a list of mismatches) until it is empty; the metrics follow a failover within a few scrapes."""
    deadline = time.monotonic() + seconds
    while True:
        problems = check()
        if not problems:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: {problems}")
        time.sleep(1)


def _instance_problems(hosts, layout):
    problems = []
    for shard, (port, master, replica) in layout.items():
        name, exporter_port = SHARD_EXPORTERS[shard]
        for host_name, role in ((master, "master"), (replica, "slave")):
            samples = _metrics(hosts[host_name], HOSTS[host_name], exporter_port)
            seen = {"up": _value(samples, "redis_up"),
                    "role": [labels["role"] for labels, value in samples.get("redis_instance_info", []) if value == 1],
                    "connected_slaves": _value(samples, "redis_connected_slaves")}
            wanted = {"up": 1, "role": [role], "connected_slaves": 1 if role == "master" else 0}
            if role == "slave":
                seen["master_link_up"] = _value(samples, "redis_master_link_up", master_host=HOSTS[master], master_port=str(port))
                wanted["master_link_up"] = 1
            if seen != wanted:
                problems.append(f"{name} on {host_name}: {seen}, expected {wanted}")
    return problems


def _sentinel_problems(hosts, layout):
    problems = []
    for host_name, ip in HOSTS.items():
        for name, exporter_port in SENTINEL_EXPORTERS:
            samples = _metrics(hosts[host_name], ip, exporter_port)
            seen = {"up": _value(samples, "redis_up"), "masters": _value(samples, "redis_sentinel_masters")}
            wanted = {"up": 1, "masters": len(layout)}
            for shard, spec in layout.items():
                port, master = spec[:2]
                seen[shard] = (_value(samples, "redis_sentinel_master_status", master_name=shard, master_address=address(master, port)),
                               _value(samples, "redis_sentinel_master_ok_slaves", master_name=shard))
                wanted[shard] = (1, 1)
            if seen != wanted:
                problems.append(f"{name} on {host_name}: {seen}, expected {wanted}")
    return problems


def _fail_over(sentinel_admin, admin, layout, shard):
    """Forces a failover of shard and waits until every Sentinel names the new master and the old one replicates it."""
    port, master, replica = layout[shard]
    deadline = time.monotonic() + 60
    while (reply := sentinel_admin(sentinel_addresses()[0], "SENTINEL", "FAILOVER", shard)) != "OK":
        # NOGOODSLAVE until the Sentinel has seen the replica settle after a previous failover.
        assert time.monotonic() < deadline, f"SENTINEL FAILOVER {shard}: {reply}"
        time.sleep(1)
    new_layout = dict(layout, **{shard: (port, replica, master)})

    def problems():
        found = [sentinel_admin(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", shard).splitlines() for sentinel in sentinel_addresses()]
        role = admin(address(master, port), "ROLE").splitlines()[:3]
        wrong = [f"{sentinel} names {at}" for sentinel, at in zip(sentinel_addresses(), found) if at != [HOSTS[replica], str(port)]]
        return wrong + ([f"old master ROLE {role}"] if role != ["slave", HOSTS[replica], str(port)] else [])

    _eventually(problems, f"failover of {shard}", seconds=90)
    return new_layout


@pytest.mark.parametrize("host_name", HOSTS)
def test_one_exporter_per_instance_and_sentinel(hosts, host_name):
    host = hosts[host_name]
    for name, port in list(SHARD_EXPORTERS.values()) + SENTINEL_EXPORTERS:
        unit = host.service(UNIT.format(name))
        assert unit.is_running and unit.is_enabled, name
        assert host.socket(f"tcp://{HOSTS[host_name]}:{port}").is_listening, (name, port)
    assert host.check_output("systemctl is-enabled prometheus-redis-exporter.service || true") == "masked"
    assert not host.service("prometheus-redis-exporter.service").is_running


@pytest.mark.parametrize("host_name", HOSTS)
def test_monitor_password_only_in_a_root_only_file(hosts, host_name):
    host = hosts[host_name]
    secret_file = host.file("/etc/shardinel-redis-exporter/exporter.env")
    assert secret_file.user == "root" and secret_file.mode == 0o600
    places = {"unit": host.check_output("systemctl cat " + UNIT.format("shard-shard1")),
              "command lines": host.check_output("ps -eo args"),
              "target settings": host.check_output("cat /etc/shardinel-redis-exporter/targets/*.env"),
              "unit environment": host.check_output("systemctl show -p Environment " + UNIT.format("shard-shard1"))}
    for place, text in places.items():
        assert MONITOR_PASSWORD not in text, place


def test_monitor_user_is_read_only(cli, expected_layout):
    monitor = {"user": "monitor", "password": MONITOR_PASSWORD}
    port, master = expected_layout["shard1"][:2]
    instance = address(master, port)
    assert "role:master" in cli.run(instance, "INFO", "replication", **monitor)
    for command in (["GET", "k"], ["SET", "k", "v"], ["KEYS", "*"], ["SCAN", "0"], ["CONFIG", "GET", "masterauth"],
                    ["ACL", "LIST"], ["FLUSHALL"], ["SUBSCRIBE", "c"]):
        assert cli.run(instance, *command, **monitor).startswith("NOPERM"), command
    sentinel = sentinel_addresses()[0]
    assert cli.run(sentinel, "SENTINEL", "CKQUORUM", "shard1", **monitor).startswith("OK")
    for command in (["SENTINEL", "FAILOVER", "shard1"], ["SENTINEL", "SET", "shard1", "quorum", "1"], ["SENTINEL", "RESET", "*"],
                    ["ACL", "LIST"], ["SENTINEL", "CONFIG", "GET", "*"]):
        assert cli.run(sentinel, *command, **monitor).startswith("NOPERM"), command


def test_metrics_follow_a_failover(hosts, expected_layout, sentinel_admin, admin):
    """The scenario's layout (after its side effect's failover of shard1), then shard2 failed over and back."""
    _eventually(lambda: _instance_problems(hosts, expected_layout) + _sentinel_problems(hosts, expected_layout),
                "metrics of the scenario's layout")
    shard = "shard2"
    failed_over = _fail_over(sentinel_admin, admin, expected_layout, shard)
    _eventually(lambda: _instance_problems(hosts, failed_over) + _sentinel_problems(hosts, failed_over), f"metrics after {shard} failed over")
    restored = _fail_over(sentinel_admin, admin, failed_over, shard)
    assert restored == expected_layout
    _eventually(lambda: _instance_problems(hosts, restored) + _sentinel_problems(hosts, restored), f"metrics after {shard} failed back")

"""Restarts and upgrades under a live writer through the shardinel client (running here, against the hosts' addresses).

1. A plain `systemctl restart` of shard1's master, then 2. the same master restarted the roles' way (the
shardinel.redis.instance_restart module the handlers and playbooks/upgrade.yml run: SENTINEL FAILOVER first, restart once
it is an in-sync replica):
longest write gap and acknowledged writes lost, side by side. 3. playbooks/upgrade.yml from the packages the converge
installed (Debian 12's main archive, 7.0.15-1~deb12u7) to bookworm-security's, with a writer on every shard: every
instance and Sentinel runs the new package, no acknowledged write is lost, and going back to the older version is
refused without shardinel_allow_downgrade. Then every shard's master is put back
where the other tests expect it. Only where the scenario's group_vars set shardinel_test_restarts (the default scenario).
"""

import json
import sys
import time

import pytest

from expected import BOOTSTRAP, CLI_TLS_ARGS, GROUP_VARS, HOSTS, address, sentinel_addresses
from playbook_run import REPO, run_module, run_playbook, task_results

pytestmark = pytest.mark.skipif(not GROUP_VARS.get("shardinel_test_restarts"), reason="only where shardinel_test_restarts is set")

# The client package and the unit tests' writer thread, imported where used once this path is set.
CLIENT_PATHS = [str(REPO / "plugins" / "module_utils"), str(REPO / "tests" / "unit" / "client")]

SECURITY_SOURCE = "deb http://deb.debian.org/debian-security bookworm-security main"
PACKAGES = ("redis-server", "redis-sentinel", "redis-tools")
WARMUP = 1.0
TAIL = 2.0
SWITCHOVER_GAP_TARGET = 1.5
HOST_OF_IP = {ip: host for host, ip in HOSTS.items()}


def _watch_options(secrets):
    """The Sentinel admin user (it may run SENTINEL FAILOVER) and the Redis admin user, as the roles pass them."""
    options = {"sentinels": sentinel_addresses(), "sentinel_username": "sentinel-admin",
               "sentinel_password": secrets["shardinel_sentinel_admin_password"], "username": "admin",
               "password": secrets["shardinel_admin_password"]}
    if CLI_TLS_ARGS:
        options.update(tls=True, tls_ca_file=CLI_TLS_ARGS[-1])
    return options


def _restart(host, secrets, **args):
    """shardinel.redis.instance_restart on the instance's host; its report."""
    return run_module(host, "instance_restart", dict(_watch_options(secrets), timeout=90, **args))


def _settled(secrets, timeout=90):
    """Wait until every Sentinel answers and every shard has an agreed master and an in-sync replica; the masters."""
    report = run_module(next(iter(HOSTS)), "topology_check", dict(_watch_options(secrets), shards=list(BOOTSTRAP), timeout=timeout))
    return {name: shard["master"] for name, shard in report["shards"].items()}


@pytest.fixture(scope="module")
def client(secrets):
    sys.path[:0] = [path for path in CLIENT_PATHS if path not in sys.path]
    from shardinel import ShardedSentinelClient
    client = ShardedSentinelClient(sentinel_addresses(), username="app", password=secrets["shardinel_app_password"],
                                   sentinel_username="sentinel-client", sentinel_password=secrets["shardinel_sentinel_client_password"],
                                   failover_timeout=30.0, socket_timeout=1.5, socket_connect_timeout=1.5)
    assert client.wait_for_switch_listener(10)
    yield client
    client.close()


@pytest.fixture(scope="module")
def figures():
    return {}


@pytest.fixture
def show(capsys):
    """Print lines to the terminal past pytest's capture: the figures belong in the scenario's output."""
    def print_lines(lines):
        with capsys.disabled():
            print("\n" + "\n".join(lines), flush=True)
    return print_lines


def _table(header, rows):
    sys.path[:0] = [path for path in CLIENT_PATHS if path not in sys.path]
    from text_table import render_table
    return render_table(header, rows)


@pytest.fixture(scope="module", autouse=True)
def restore_masters(secrets, expected_layout):
    """After this module, every shard's master is back on the host the other tests expect."""
    yield
    masters = _settled(secrets)
    for shard, (port, master_host, _replica) in expected_layout.items():
        if masters[shard] != address(master_host, port):
            host = HOST_OF_IP[masters[shard].rsplit(":", 1)[0]]
            _restart(host, secrets, action="switchover", shard=shard, address=masters[shard])
    assert _settled(secrets) == {shard: address(host, port) for shard, (port, host, _r) in expected_layout.items()}


def _write_through(client, shards, prefix, action):
    """Writers on the shards (one each) while action() runs; ({shard: (longest gap s, acknowledged, lost)}, action's result)."""
    from failover_writer import FailoverWriter, tag_on
    writers = {shard: FailoverWriter(client, tag_on(client, shard, prefix), wait_ms=None, pause=0.005) for shard in shards}
    for writer in writers.values():
        writer.__enter__()
    try:
        time.sleep(WARMUP)
        result = action()
        time.sleep(TAIL)
    finally:
        for writer in writers.values():
            writer.__exit__(None, None, None)
    outcome = {}
    for shard, writer in writers.items():
        lost, _replica_lost = writer.report.missing(client)
        outcome[shard] = (round(writer.report.gap(), 2), len(writer.report.acked), lost)
        for start in range(0, len(writer.report.acked), 1000):
            client.delete(*writer.report.acked[start:start + 1000])
    return outcome, result


def test_plain_restart_of_a_master(hosts, secrets, client, figures, show):
    started = time.monotonic()
    master = _settled(secrets)["shard1"]
    host = HOST_OF_IP[master.rsplit(":", 1)[0]]

    def restart():
        began = time.monotonic()
        hosts[host].check_output("systemctl restart shardinel-redis@shard1.service")
        return round(time.monotonic() - began, 2)
    outcome, restart_s = _write_through(client, ["shard1"], "plain-restart-", restart)
    _settled(secrets)
    figures["plain"] = outcome["shard1"] + (master, restart_s)
    show([f"plain restart of {master}: longest write gap {outcome['shard1'][0]} s, {outcome['shard1'][2]} of "
          f"{outcome['shard1'][1]} acknowledged writes lost (systemctl restart took {restart_s} s; "
          f"test {time.monotonic() - started:.0f} s)"])


def test_switchover_restart_of_the_same_master(secrets, client, figures, show):
    started = time.monotonic()
    master = _settled(secrets)["shard1"]
    host = HOST_OF_IP[master.rsplit(":", 1)[0]]
    outcome, report = _write_through(client, ["shard1"], "switchover-restart-", lambda: _restart(
        host, secrets, action="restart", shard="shard1", address=master, unit="shardinel-redis@shard1.service"))
    _settled(secrets)
    gap, acked, lost = outcome["shard1"]
    plain = figures.get("plain") or ("-",) * 4
    show(["shard1 master restart under a live writer (shardinel client, plain SET every 5 ms)"]
         + _table(["", "plain systemctl restart", "switchover, then restart"],
                  [["instance", plain[3], master], ["longest write gap s", plain[0], gap],
                   ["acknowledged writes", plain[1], acked], ["acknowledged writes lost", plain[2], lost]])
         + [f"switchover: writes paused {report.get('failover_s')} s, old master a connected replica after "
            f"{report.get('demoted_s')} s, restart {report.get('restart_s')} s, back in sync {report.get('back_s')} s, "
            f"new master {report.get('new_master')} (test {time.monotonic() - started:.0f} s)"])
    assert report["new_master"] != master and report["restarted"], report
    assert lost == 0, f"{lost} of {acked} acknowledged writes lost across the switchover restart"
    assert gap <= SWITCHOVER_GAP_TARGET, f"longest write gap {gap} s across the switchover restart (target {SWITCHOVER_GAP_TARGET} s)"


def _package_versions(hosts):
    return {host: dict(line.split() for line in hosts[host].check_output(
        "dpkg-query -W -f='${Package} ${Version}\\n' " + " ".join(PACKAGES)).splitlines()) for host in HOSTS}


def _processes(hosts):
    """{host: {unit: (seconds it has run, its executable)}} of every instance and Sentinel."""
    script = ("for unit in $(systemctl list-units --plain --no-legend --state=running 'shardinel-redis@*' 'shardinel-sentinel@*'"
              " | cut -d ' ' -f 1); do pid=$(systemctl show -P MainPID $unit);"
              " echo \"$unit $(ps -o etimes= -p $pid) $(readlink /proc/$pid/exe)\"; done")
    out = {}
    for host in HOSTS:
        lines = hosts[host].check_output(script).splitlines()
        out[host] = {line.split()[0]: (int(line.split()[1]), " ".join(line.split()[2:])) for line in lines}
    return out


def _run_upgrade_playbook(*extra_vars):
    # Two data hosts and no witness: a whole-host loss is not survivable, which the upgrade refuses by default.
    return run_playbook("shardinel.redis.upgrade", "-e", "shardinel_upgrade_require_survivable=false", *extra_vars)


def _printed(report, task_name):
    return [line for result in task_results(report, task_name).values() for line in result.get("msg", [])]


def test_upgrade_playbook_under_live_writers(hosts, secrets, client, show):
    _settled(secrets)
    for host in HOSTS:
        hosts[host].check_output(f"echo '{SECURITY_SOURCE}' > /etc/apt/sources.list.d/shardinel-test-security.list")
    before = _package_versions(hosts)
    started = time.monotonic()
    outcome, result = _write_through(client, list(BOOTSTRAP), "upgrade-", _run_upgrade_playbook)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    after = _package_versions(hosts)
    processes = _processes(hosts)
    show(_printed(report, "Print the versions before and after") + [""]
         + _printed(report, "Print each master's write pause (its switchover)")
         + ["", f"upgrade playbook under a writer on every shard ({elapsed:.0f} s)"]
         + _table(["shard", "longest write gap s", "acknowledged writes", "lost"],
                  [[shard, gap, acked, lost] for shard, (gap, acked, lost) in outcome.items()]))
    for host in HOSTS:
        assert after[host] != before[host], f"{host}: nothing was upgraded ({after[host]})"
        assert len(set(after[host].values())) == 1, f"{host}: packages at different versions: {after[host]}"
        assert len(processes[host]) == len(BOOTSTRAP) + 2, f"{host}: not every instance and Sentinel runs: {processes[host]}"
        for unit, (seconds, executable) in processes[host].items():
            assert not executable.endswith("(deleted)"), f"{host} {unit} still runs the replaced {executable}"
            assert seconds < elapsed, f"{host} {unit} was not restarted by the upgrade (running for {seconds} s)"
    _settled(secrets)
    assert all(lost == 0 for _gap, _acked, lost in outcome.values()), f"acknowledged writes lost during the upgrade: {outcome}"

    # Back to the version the converge installed: refused before any change, naming the variable that allows it.
    older = before[next(iter(HOSTS))]["redis-server"]
    refused = _run_upgrade_playbook("-e", f"shardinel_upgrade_version={older}")
    assert refused.returncode != 0 and "shardinel_allow_downgrade" in refused.stdout, refused.stdout[-3000:]
    assert _package_versions(hosts) == after

"""The redis_exporter role's alerting rules on the scenario's real exporters (issue 21): a Prometheus started here, on
the machine that runs molecule (Debian's prometheus package, which scripts/setup.sh installs for promtool), scrapes
every exporter of the scenario every second and loads the rules file as the role installed it on the first host.
Stopping a shard's replica makes ShardinelMasterWithoutReplica fire for that shard; starting it again clears it.

Only where the scenario's group_vars set shardinel_test_alerts (a scenario with exporters).
"""

import json
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from expected import EXPORTER, GROUP_VARS, HOSTS, SENTINEL_PORTS
from test_exporter import SENTINEL_EXPORTERS, SHARD_EXPORTERS

pytestmark = pytest.mark.skipif(not (EXPORTER and GROUP_VARS.get("shardinel_test_alerts")),
                                reason="only where shardinel_test_alerts is set, in a scenario with exporters")

RULES_FILE = GROUP_VARS.get("redis_exporter_alert_rules_file", "/etc/shardinel-redis-exporter/shardinel-redis-alerts.yml")
ALERT = "ShardinelMasterWithoutReplica"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read().decode())["data"]


def _wait(check, what, seconds):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(1)


@pytest.fixture()
def prometheus(hosts, tmp_path):
    binary = shutil.which("prometheus")
    assert binary, "no prometheus binary on this machine: install Debian's prometheus package (scripts/setup.sh does)"
    first = list(HOSTS)[0]
    rules = tmp_path / "shardinel-redis-alerts.yml"
    rules.write_text(hosts[first].file(RULES_FILE).content_string)
    targets = [f"{ip}:{port}" for ip in HOSTS.values()
               for _name, port in list(SHARD_EXPORTERS.values()) + SENTINEL_EXPORTERS]
    assert len(SENTINEL_EXPORTERS) == len(SENTINEL_PORTS)
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "shardinel-redis", "static_configs": [{"targets": targets}]}],
    }))
    port = _free_port()
    with open(tmp_path / "prometheus.log", "wb") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        _wait(lambda: _targets_up(url, len(targets)), "every exporter to be scraped up", 60)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _targets_up(url, count):
    try:
        active = _get(f"{url}/targets")["activeTargets"]
    except OSError:
        return False
    return len(active) == count and all(target["health"] == "up" for target in active)


def _firing(url, shard):
    return [alert for alert in _get(f"{url}/alerts")["alerts"]
            if alert["labels"]["alertname"] == ALERT and alert["labels"].get("master_name") == shard and alert["state"] == "firing"]


def _any(url, shard):
    return [alert for alert in _get(f"{url}/alerts")["alerts"]
            if alert["labels"]["alertname"] == ALERT and alert["labels"].get("master_name") == shard]


def test_a_stopped_replica_fires_the_alert_and_its_return_clears_it(prometheus, hosts, expected_layout, capsys):
    shard = "shard2"
    replica_host = expected_layout[shard][2]
    assert not _any(prometheus, shard), "the alert is pending or firing before anything was stopped"
    unit = f"shardinel-redis@{shard}.service"
    stopped = time.monotonic()
    hosts[replica_host].check_output(f"systemctl stop {unit}")
    try:
        alerts = _wait(lambda: _firing(prometheus, shard), f"{ALERT} for {shard} to fire", 120)
        fired = time.monotonic() - stopped
        assert alerts[0]["labels"]["severity"] == "critical"
    finally:
        hosts[replica_host].check_output(f"systemctl start {unit}")
    started = time.monotonic()
    _wait(lambda: not _any(prometheus, shard), f"{ALERT} for {shard} to clear", 120)
    with capsys.disabled():
        print(f"\n{ALERT} for {shard}: fired {fired:.0f} s after its replica stopped (for: 30s), cleared "
              f"{time.monotonic() - started:.0f} s after it started again", flush=True)

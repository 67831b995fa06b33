"""The redis_exporter role's Prometheus alerting rules (roles/redis_exporter/files/shardinel-redis-alerts.yml): valid
for promtool, each alert tested (tests/unit/roles/alerts/shardinel-redis-alerts.test.yml: when it fires, with which
labels and text, and when it does not), and the tests pass. promtool comes with Debian's prometheus package
(scripts/setup.sh installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "roles" / "redis_exporter" / "files" / "shardinel-redis-alerts.yml"
RULE_TESTS = Path(__file__).resolve().parent / "alerts" / "shardinel-redis-alerts.test.yml"


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: install Debian's prometheus package (scripts/setup.sh does)"
    return subprocess.run([binary, *arguments], capture_output=True, text=True, timeout=120, check=False)


def test_the_rules_are_valid() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_has_a_test_in_which_it_fires() -> None:
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    firing = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    assert alerts == firing


def test_the_rules_pass_their_tests() -> None:
    tested = promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr

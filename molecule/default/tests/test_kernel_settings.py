"""shardinel_tune_kernel in containers: /proc/sys is read-only there, so the kernel settings are skipped with a
one-line notice and nothing changes on the host."""

import json
from pathlib import Path

import pytest

from expected import HOSTS
from playbook_run import run_playbook, task_results

PLAYBOOK = Path(__file__).resolve().parent / "kernel_settings.yml"


@pytest.fixture(scope="module")
def kernel_run():
    result = run_playbook(PLAYBOOK, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return json.loads(result.stdout)


def _messages(report, task_name):
    return {host: result.get("msg") for host, result in task_results(report, task_name).items()}


def test_kernel_settings_are_skipped_with_a_notice_and_change_nothing(kernel_run, hosts):
    notices = _messages(kernel_run, "Say that the kernel settings are skipped here")
    assert set(notices) == set(HOSTS), notices
    for host, notice in notices.items():
        assert "\n" not in notice and notice.startswith(f"shardinel_tune_kernel: skipped on {host}"), notice
    assert sum(stats["changed"] for stats in kernel_run["stats"].values()) == 0, kernel_run["stats"]
    for host in hosts.values():
        assert not host.file("/etc/sysctl.d/60-shardinel-redis.conf").exists
        assert not host.file("/etc/tmpfiles.d/shardinel-redis-thp.conf").exists

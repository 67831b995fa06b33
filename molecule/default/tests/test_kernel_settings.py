"""shardinel_tune_kernel in containers: /proc/sys is read-only there, so the kernel settings are skipped with a
one-line notice and nothing changes on the host."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from expected import HOSTS, SCENARIO

REPO = SCENARIO.parent.parent
PLAYBOOK = Path(__file__).resolve().parent / "kernel_settings.yml"


@pytest.fixture(scope="module")
def kernel_run():
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_FORCE_COLOR="false")
    collections = str(REPO / ".cache" / "collections")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(filter(None, [collections, env.get("ANSIBLE_COLLECTIONS_PATH")]))
    result = subprocess.run(["ansible-playbook", "-i", str(inventory), str(PLAYBOOK)], capture_output=True, text=True,
                            env=env, cwd=str(REPO), timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return json.loads(result.stdout)


def _messages(report, task_name):
    """{host: msg} of a task that ran; role tasks are named "<role FQCN> : <name>"."""
    return {host: result.get("msg") for play in report["plays"] for task in play["tasks"]
            if task["task"]["name"].split(" : ")[-1] == task_name for host, result in task["hosts"].items()
            if not result.get("skipped")}


def test_kernel_settings_are_skipped_with_a_notice_and_change_nothing(kernel_run, hosts):
    notices = _messages(kernel_run, "Say that the kernel settings are skipped here")
    assert set(notices) == set(HOSTS), notices
    for host, notice in notices.items():
        assert "\n" not in notice and notice.startswith(f"shardinel_tune_kernel: skipped on {host}"), notice
    assert sum(stats["changed"] for stats in kernel_run["stats"].values()) == 0, kernel_run["stats"]
    for host in hosts.values():
        assert not host.file("/etc/sysctl.d/60-shardinel-redis.conf").exists
        assert not host.file("/etc/tmpfiles.d/shardinel-redis-thp.conf").exists

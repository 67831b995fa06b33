"""ansible-playbook on the running scenario's inventory, with the collection from this checkout and the JSON callback."""

import json
import os
import subprocess
from pathlib import Path

from expected import SCENARIO

REPO = SCENARIO.parent.parent


def run_playbook(playbook, *arguments, timeout=900):
    """The finished run (stdout is the JSON report); ``playbook`` is a path or a collection playbook name."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_FORCE_COLOR="false")
    collections = str(REPO / ".cache" / "collections")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(filter(None, [collections, env.get("ANSIBLE_COLLECTIONS_PATH")]))
    return subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook), *arguments],
                          capture_output=True, text=True, env=env, cwd=str(REPO), timeout=timeout, check=False)


def task_results(report, task_name):
    """{host: result} of the hosts a task ran on (not skipped); a role's tasks are named "<role FQCN> : <name>"."""
    return {host: result for play in report["plays"] for task in play["tasks"]
            if task_name in (task["task"]["name"], task["task"]["name"].split(" : ")[-1])
            for host, result in task["hosts"].items() if not result.get("skipped")}


def run_module(host, module, args, check_mode=False):
    """The result of one shardinel.redis module run on a host of the scenario (through a one-task playbook, whose file
    holds the arguments, passwords included, readable only by this user); fails the test with its message."""
    import tempfile

    import yaml

    play = [{"hosts": host, "gather_facts": False,
             "tasks": [{"name": "module", f"shardinel.redis.{module}": args, "check_mode": check_mode}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(play, handle)
    try:
        Path(handle.name).chmod(0o600)
        completed = run_playbook(handle.name)
    finally:
        Path(handle.name).unlink()
    report = json.loads(completed.stdout)
    result = report["plays"][0]["tasks"][0]["hosts"][host]
    assert completed.returncode == 0, f"{module} on {host}: {result.get('msg')}"
    return result


def failed_tasks(stdout):
    """'host: task: message' of every failed task of a JSON-callback run (what a failed run's assertion should show)."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return stdout[-4000:]
    lines = []
    for play in report.get("plays", []):
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") and not result.get("ignore_errors"):
                    lines.append(f"{host}: {task['task']['name']}: {str(result.get('msg'))[:1500]}")
    return "\n".join(lines) or stdout[-4000:]

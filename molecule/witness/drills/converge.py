"""Re-run the scenario's converge playbook with molecule's inventory and read the changes from its recap."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from scenario import SCENARIO

RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
TASK = re.compile(r"^TASK \[(.*)\]")


def _ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else "ansible-playbook"


def converge(log: Path, extra_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """{"changed", "failed", "rc", "seconds", "changed_tasks", "failures"}; the playbook's output goes to log.

    ``failures`` holds each failed task's name and the first 40 lines of its report, for the verifier to print.
    """
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    argv = [_ansible_playbook(), "--inventory", str(inventory), "--skip-tags", "molecule-notest,notest",
            str(SCENARIO / "converge.yml")]
    if extra_vars:
        argv += ["--extra-vars", json.dumps(extra_vars)]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="true")
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=900)
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    changed = failed = 0
    tasks: list[str] = []
    failures: list[str] = []
    task = ""
    lines = result.stdout.splitlines()
    for index, line in enumerate(lines):
        if match := TASK.match(line):
            task = match.group(1)
        elif line.startswith("fatal:") or (line.startswith("ok:") and "List what changed at runtime" in task):
            failures.append("\n".join([task] + lines[index:index + 40]))
        elif line.startswith("changed:") and task not in tasks:
            tasks.append(task)
        elif match := RECAP.match(line):
            changed += int(match.group(2))
            failed += int(match.group(3)) + int(match.group(4))
    return {"changed": changed, "failed": failed, "rc": result.returncode, "seconds": round(time.monotonic() - started, 1),
            "changed_tasks": tasks, "failures": failures, "extra_vars": extra_vars or {}, "log": str(log)}

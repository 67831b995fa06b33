"""site.yml (and the other playbooks) in check mode with diff on the scenario's hosts, read through the JSON callback:
what each host would change, the diffs the operator reads, and proof that nothing on the hosts changed.

Run as a script before the first converge (molecule/default/prepare.yml): ``python3 check_run.py record FILE`` checks the
fresh hosts and writes what the check would change to FILE, for test_check_mode.py to compare with the converge.
"""

import json
import sys
from pathlib import Path

import yaml

from expected import SCENARIO
from playbook_run import REPO, run_playbook

LAYOUT_TASK = "Lay out"


def check(playbook=REPO / "site.yml", *arguments):
    """The JSON report of ``playbook --check --diff``; fails the test (with the output's end) if the run failed."""
    result = run_playbook(playbook, "--check", "--diff", *arguments)
    assert result.returncode == 0, f"{playbook} --check --diff failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout), result.stdout


def changed_tasks(report):
    """{host: [name of each task that reported a change]}."""
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                items = result.get("results") or [result]
                if any(item.get("changed") for item in items if isinstance(item, dict)):
                    out.setdefault(host, []).append(task["task"]["name"])
    return out


def layout_changes(report):
    """{host: {"paths": [every path a host_layout task would create or change], "packages": [...], "diffs": [...]}}."""
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            if LAYOUT_TASK not in task["task"]["name"]:
                continue
            for host, result in task["hosts"].items():
                if result.get("skipped") or "changed_paths" not in result:
                    continue
                entry = out.setdefault(host, {"paths": [], "packages": [], "diffs": []})
                entry["paths"] += result["changed_paths"]
                entry["packages"] += result.get("missing_packages", [])
                entry["diffs"] += result.get("diff", [])
    return out


def main(argv):
    action, target = argv[1:3]
    if action != "record":
        raise SystemExit("usage: check_run.py record FILE")
    report, output = check()
    secrets = yaml.safe_load((SCENARIO / "group_vars" / "all" / "test-secrets.yml").read_text(encoding="utf-8"))
    leaked = [name for name, value in secrets.items() if name.endswith("_password") and value and str(value) in output]
    assert not leaked, f"{leaked} in the check's output"
    record = {"changed_tasks": changed_tasks(report), "layout": layout_changes(report), "stats": report["stats"]}
    Path(target).write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(json.dumps({host: len(entry["paths"]) for host, entry in record["layout"].items()}))


if __name__ == "__main__":
    main(sys.argv)

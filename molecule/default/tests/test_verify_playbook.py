"""Runs last: the collection's verify playbook drills a failover of every shard on the hosts.

topology_info must find every Sentinel, quorum and replica healthy; failover_verify fails every
shard over and back (restore), and must report routing verified with no canary lost.
"""

import json

from expected import BOOTSTRAP
from playbook_run import run_playbook, task_results


def _task_results(report, name):
    results = list(task_results(report, name).values())
    assert results, f"task {name!r} did not run"
    return results


def test_verify_playbook_drills_every_shard():
    result = run_playbook("shardinel.redis.verify")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    lines = next(r["msg"] for r in _task_results(report, "Print the report") if "msg" in r)
    table = [[cell.strip() for cell in line.split(" | ")] for line in lines if " | " in line]
    rows = {row[0]: dict(zip(table[0], row)) for row in table[1:]}
    for shard in BOOTSTRAP:
        row = rows[shard]
        assert row["drill"] == "planned", f"{shard} was not drilled: {lines}"
        assert row["canaries lost"] == "0", f"{shard} lost canaries: {lines}"
        assert row["routing"] == "ok", f"{shard} routing not verified: {lines}"
        assert row["restored"] == "yes", f"{shard} not restored to its starting master: {lines}"
    assert any(line.startswith("Drill: passed") for line in lines), lines
    passed = _task_results(report, "The failover drill passed")
    assert all(not r.get("failed") for r in passed), passed

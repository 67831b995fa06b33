"""The expected-outcome file of the conformance run (expected_failures.yml): reading it and comparing a run with it.

The file has two maps. ``reasons``: a short name -> {title, why}, one per kind of difference from
redis-py's ``Redis`` on one server. ``tests``: redis-py test id -> {reason, shards, sometimes}, every test that
may fail and why; ``shards`` lists the shard counts it fails on (default: 1 and 3); ``sometimes: true`` marks a test that
fails or passes with the timing (it is not reported when it passes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SHARD_COUNTS = (1, 3)


@dataclass
class Expected:
    reasons: dict[str, dict[str, str]]
    tests: dict[str, tuple[str, tuple[int, ...]]]
    sometimes: set[str] = field(default_factory=set)

    def listed(self, shards: int) -> dict[str, str]:
        """test id -> reason, for the tests that may fail on ``shards`` shards."""
        return {test: reason for test, (reason, counts) in self.tests.items() if shards in counts}


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    listed: int = 0
    unlisted: list[tuple[str, str]] = field(default_factory=list)
    now_passing: list[tuple[str, str]] = field(default_factory=list)


def load_expected(path: Path) -> Expected:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    reasons = document["reasons"]
    for name, reason in reasons.items():
        if set(reason) != {"title", "why"}:
            raise ValueError(f"{path}: reason {name!r} needs exactly 'title' and 'why'")
    tests: dict[str, tuple[str, tuple[int, ...]]] = {}
    sometimes = set()
    for test, entry in (document.get("tests") or {}).items():
        if set(entry) - {"reason", "shards", "sometimes"}:
            raise ValueError(f"{path}: {test}: unknown keys {sorted(set(entry) - {'reason', 'shards', 'sometimes'})}")
        if entry.get("sometimes"):
            sometimes.add(test)
        reason = entry["reason"]
        if reason not in reasons:
            raise ValueError(f"{path}: {test} names an unknown reason {reason!r}")
        counts = tuple(entry.get("shards", SHARD_COUNTS))
        if not counts or not set(counts) <= set(SHARD_COUNTS):
            raise ValueError(f"{path}: {test}: shards must be a non-empty subset of {list(SHARD_COUNTS)}")
        tests[test] = (reason, counts)
    return Expected(reasons, tests, sometimes)


def readme_table(expected: Expected) -> str:
    """The Markdown table of differences in README.md: one row per reason, in the file's order, with its test counts."""
    lines = ["| what differs from redis-py's `Redis` | why | redis-py tests it fails (1 shard / 3 shards) |",
             "| --- | --- | --- |"]
    for name, reason in expected.reasons.items():
        counts = [sum(1 for why, shards in expected.tests.values() if why == name and count in shards)
                  for count in SHARD_COUNTS]
        why = " ".join(reason["why"].split()).replace("|", "\\|")
        lines.append(f"| {reason['title']} | {why} | {counts[0]} / {counts[1]} |")
    return "\n".join(lines) + "\n"


def compare(expected: Expected, shards: int, outcomes: dict[str, str], complete: bool = True) -> Report:
    """Counts, the failures not listed for this shard count, and the listed tests that passed.

    ``complete`` is False for a partial run (-k): listed tests that did not run are then not reported.
    """
    listed = expected.listed(shards)
    report = Report()
    for test, outcome in sorted(outcomes.items()):
        if outcome == "passed":
            report.passed += 1
            if test in listed and test not in expected.sometimes:
                report.now_passing.append((test, listed[test]))
        elif outcome in ("failed", "error"):
            report.failed += 1
            if test in listed:
                report.listed += 1
            else:
                report.unlisted.append((test, outcome))
        else:
            report.skipped += 1
    if complete:
        missing = sorted(set(listed) - set(outcomes))
        report.now_passing += [(test, f"{listed[test]}; it did not run at all") for test in missing]
    return report

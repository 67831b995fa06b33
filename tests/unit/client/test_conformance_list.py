"""The conformance run's list of expected failures and README.md's table of differences agree (no servers needed)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

from expected_outcomes import compare, load_expected, readme_table  # noqa: E402  pylint: disable=wrong-import-position

EXPECTED = load_expected(ROOT / "tests" / "conformance" / "expected_failures.yml")
START = "<!-- differences table: rendered from tests/conformance/expected_failures.yml -->"
END = "<!-- end of differences table -->"


def test_readme_table_is_rendered_from_the_list():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, "README.md lost the markers around its table of differences"
    block = readme.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert block == readme_table(EXPECTED), (
        "README.md's table of differences is not the one rendered from tests/conformance/expected_failures.yml; "
        "print it with: .venv/bin/python tests/conformance/run_conformance.py --readme-table")


def test_every_reason_is_used_and_every_test_has_one():
    used = {reason for reason, _shards in EXPECTED.tests.values()}
    assert used == set(EXPECTED.reasons)
    assert all(test.startswith("tests/test_") and "::" in test for test in EXPECTED.tests)


def test_comparison_reports_unlisted_failures_and_listed_passes():
    listed = next(test for test, (_reason, shards) in EXPECTED.tests.items() if shards == (3,))
    outcomes = {listed: "passed", "tests/test_commands.py::TestRedisCommands::test_new": "failed",
                "tests/test_commands.py::TestRedisCommands::test_skip": "skipped"}
    report = compare(EXPECTED, 3, outcomes, complete=False)
    assert report.unlisted == [("tests/test_commands.py::TestRedisCommands::test_new", "failed")]
    assert [test for test, _reason in report.now_passing] == [listed]
    assert (report.passed, report.failed, report.skipped) == (1, 1, 1)
    complete = compare(EXPECTED, 3, {}, complete=True)
    assert len(complete.now_passing) == len(EXPECTED.listed(3)), "a listed test that did not run counts as passing"
    assert compare(EXPECTED, 1, {listed: "passed"}, complete=False).now_passing == []


def test_a_test_marked_sometimes_may_pass_or_fail():
    test = next(iter(EXPECTED.sometimes))
    reason, counts = EXPECTED.tests[test]
    for outcome in ("passed", "failed"):
        report = compare(EXPECTED, counts[0], {test: outcome}, complete=False)
        assert report.now_passing == [] and report.unlisted == []
    assert reason == "background-commands"

"""The verify_report filter: alignment with long names, missing values, failed shards, loop results, TILT, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.filter.verify_report import HEADER, FilterModule, verify_report

LONG_HOST = "redis-data-1.eu-west.example.com"
HOSTS = {"127.0.1.1:6379": LONG_HOST, "127.0.2.1:6379": "data2", "127.0.1.1:6380": LONG_HOST, "127.0.2.1:6380": "data2"}


def passed(name: str, old: str, new: str | None, **extra: Any) -> dict[str, Any]:
    report = {"drill": "kill", "fault": "SIGKILL to redis-server process 42", "old_master": old, "new_master": new,
              "failover_ms": 2310, "write_gap_ms": 2412, "writes_acknowledged": 1532, "writes_lost": 0,
              "canaries_written": 10, "canaries_lost": 0, "routing_verified": True, "restored": True,
              "ready_wait_ms": 0, "ready_waited_for": [], "error": None}
    report.update(extra)
    return {name: report}


def topology(*names: str, **extra: Any) -> dict[str, Any]:
    shards = {name: {"master": {"address": f"127.0.{i % 2 + 1}.1:{6379 + i}"}} for i, name in enumerate(names)}
    result = {"shards": shards, "sentinels": [
        {"address": "127.0.1.1:26379", "reachable": True, "tilt": False},
        {"address": "127.0.2.1:26379", "reachable": True, "tilt": False},
        {"address": "127.0.3.1:26379", "reachable": False, "tilt": None, "tilt_error": "not reachable"},
    ], "survivability": {"host_losses": [
        {"host": LONG_HOST, "survivable": True, "problems": []},
        {"host": "data2", "survivable": False, "problems": ["sessions-eu-west: 1 of 3 Sentinels left, a failover needs a majority of 2"]},
    ], "single_host_shards": [], "problems_now": []}}
    result.update(extra)
    return result


def rows(lines: list[str]) -> dict[str, dict[str, str]]:
    table = [[cell.strip() for cell in line.split(" | ")] for line in lines if " | " in line]
    assert table[0] == HEADER
    return {row[0]: dict(zip(HEADER, row)) for row in table[1:]}


def test_columns_are_sized_to_long_shard_and_host_names() -> None:
    drill = {"changed": True, "shards": passed("sessions-eu-west", "127.0.1.1:6379", "127.0.2.1:6379")
             | passed("cache", "127.0.2.1:6380", "127.0.1.1:6380", writes_lost=3)}
    lines = verify_report(drill, topology("sessions-eu-west", "cache"), HOSTS, "kill")
    separators = {tuple(i for i, ch in enumerate(line) if ch == "|") for line in lines if " | " in line}
    assert len(separators) == 1, lines
    assert set(lines[1]) == {"-"} and len(lines[1]) == max(len(line) for line in lines[:4])
    table = rows(lines)
    assert list(table) == ["cache", "sessions-eu-west"]
    row = table["sessions-eu-west"]
    assert row["old master"] == f"127.0.1.1:6379 {LONG_HOST}" and row["new master"] == "127.0.2.1:6379 data2"
    assert (row["drill"], row["failover"], row["write gap"]) == ("kill", "2310 ms", "2412 ms")
    assert (row["writes acked"], row["writes lost"], row["canaries"], row["canaries lost"]) == ("1532", "0", "10", "0")
    assert (row["routing"], row["restored"]) == ("ok", "yes")
    assert table["cache"]["writes lost"] == "3"
    assert lines[-1] == "Drill: passed"


def test_missing_values_and_untouched_shards_show_a_dash() -> None:
    report = passed("shard1", "127.0.1.1:6379", "127.0.2.1:6379", failover_ms=None, write_gap_ms=None, writes_lost=None,
                    canaries_lost=None, restored=None)
    lines = verify_report({"shards": report}, topology("shard1", "shard2"), {}, "planned")
    table = rows(lines)
    row = table["shard1"]
    assert row["old master"] == "127.0.1.1:6379"
    assert (row["failover"], row["write gap"], row["writes lost"], row["canaries lost"], row["restored"]) == ("-", "-", "-", "-", "n/a")
    untouched = table["shard2"]
    assert untouched["drill"] == "-" and untouched["old master"] == "127.0.2.1:6380"
    assert all(untouched[column] == "-" for column in HEADER[3:])


def test_failed_shards_in_a_loop_result_are_reported() -> None:
    error = "shard sessions-eu-west is not ready for a drill: master 127.0.1.1:6379: replica 127.0.2.1:6379 is connected " \
            "but resyncing (state wait_bgsave); a failover now would lose writes"
    failed = passed("sessions-eu-west", "127.0.1.1:6379", None, routing_verified=False, restored=None, failover_ms=None,
                    ready_wait_ms=8100, ready_waited_for=["Sentinel 127.0.2.1:26379 is in TILT mode for 22 s"], error=error)
    drill = {"results": [
        {"item": "cache", "shards": passed("cache", "127.0.2.1:6380", "127.0.1.1:6380"), "failed_when_result": False},
        {"item": "sessions-eu-west", "shards": failed, "msg": "failover_verify failed for sessions-eu-west: " + error},
        {"item": "other", "skipped": True},
    ]}
    lines = verify_report(drill, topology("sessions-eu-west", "cache"), HOSTS)
    table = rows(lines)
    assert table["sessions-eu-west"]["routing"] == "FAIL" and table["sessions-eu-west"]["new master"] == "-"
    assert table["cache"]["routing"] == "ok"
    assert "  sessions-eu-west waited 8100 ms before the fault for: Sentinel 127.0.2.1:26379 is in TILT mode for 22 s" in lines
    assert f"  sessions-eu-west: {error}" in lines
    assert lines[-1] == "Drill: failover_verify failed for sessions-eu-west: " + error


def test_sentinels_tilt_and_survivability_lines() -> None:
    topo = topology("shard1")
    topo["sentinels"][1].update(tilt=True, tilt_since_seconds=4, tilt_remaining_seconds=26)
    topo["survivability"]["problems_now"] = ["shard1: 1 of 3 Sentinels left (1 more in TILT mode cannot vote), ..."]
    lines = verify_report({"shards": {}}, topo, HOSTS)
    assert "Sentinels: 2 of 3 reachable, 1 in TILT mode" in lines
    assert "  Sentinel 127.0.2.1:26379 is in TILT mode (for 4 s, about 26 s left); it does not vote until then" in lines
    assert "Now: shard1: 1 of 3 Sentinels left (1 more in TILT mode cannot vote), ..." in lines
    assert f"Losing host {LONG_HOST}: survivable" in lines
    assert "Losing host data2: NOT survivable (sessions-eu-west: 1 of 3 Sentinels left, a failover needs a majority of 2)" in lines


def test_unknown_tilt_is_said_once() -> None:
    topo = topology("shard1")
    for sentinel in topo["sentinels"][:2]:
        sentinel.update(tilt=None, tilt_error="user 'sentinel-client' may not run INFO")
    lines = verify_report({"shards": {}}, topo, {})
    assert "  TILT mode unknown on 127.0.1.1:26379, 127.0.2.1:26379: user 'sentinel-client' may not run INFO" in lines


def test_a_skipped_drill_is_not_run() -> None:
    assert verify_report({"skipped": True}, topology("shard1"), {})[-1] == "Drill: not run"


@pytest.mark.parametrize("drill, topo, message", [
    (["not", "a", "result"], {}, "verify_report: expected the registered result of failover_verify, got list"),
    ({"shards": ["x"]}, {}, "verify_report: shards of a failover_verify result must be a dict, got list"),
    ({"shards": {}}, "nope", "verify_report: topology must be the registered result of topology_info, got str"),
])
def test_bad_input_is_a_clear_error(drill: Any, topo: Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        verify_report(drill, topo, {})


def test_registered_under_its_name() -> None:
    assert FilterModule().filters()["verify_report"] is verify_report

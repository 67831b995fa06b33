"""The layout_table filter: alignment with long names, unknown masters, failed-over shards, bad input."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.filter.layout_table import FilterModule, layout_table

IPS = {"server1": "127.0.1.1", "a-very-long-host-name.example.com": "127.0.2.1", "witness": "127.0.3.1"}
HOSTS = list(IPS)
SENTINELS = [{"host": "server1", "port": 26379}, {"host": "server1", "port": 26380},
             {"host": "a-very-long-host-name.example.com", "port": 26379}, {"host": "witness", "port": 26379}]
LAYOUT = [
    {"name": "sessions-eu-west_primary", "port": 6379, "master": "server1", "replicas": ["a-very-long-host-name.example.com"]},
    {"name": "cache", "port": 6380, "master": "a-very-long-host-name.example.com", "replicas": ["server1"]},
]


def columns(lines: list[str]) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in lines if "|" in line]


def test_columns_are_aligned_whatever_the_name_lengths() -> None:
    masters = {"sessions-eu-west_primary": "127.0.1.1:6379", "cache": "127.0.2.1:6380"}
    lines = layout_table(LAYOUT, HOSTS, IPS, SENTINELS, masters)
    separators = {tuple(i for i, ch in enumerate(line) if ch == "|") for line in lines if "|" in line}
    assert len(separators) == 1, lines
    table = columns(lines)
    assert table[0] == HOSTS
    assert set(lines[1]) == {"-"}
    assert [row[0] for row in table[1:]] == ["Sentinel :26379", "Sentinel :26380",
                                             "sessions-eu-west_primary master :6379", "cache replica :6380"]
    assert [row[1] for row in table[1:]][:3] == ["Sentinel :26379", "sessions-eu-west_primary replica :6379",
                                                 "cache master :6380"]
    assert [row[2] for row in table[1:]][:1] == ["Sentinel :26379"]


def test_a_failover_moves_the_master_cell() -> None:
    masters = {"sessions-eu-west_primary": "127.0.2.1:6379", "cache": "127.0.2.1:6380"}
    table = columns(layout_table(LAYOUT, HOSTS, IPS, SENTINELS, masters))
    assert "sessions-eu-west_primary replica :6379" in [row[0] for row in table]
    assert "sessions-eu-west_primary master :6379" in [row[1] for row in table]


def test_missing_master_is_shown() -> None:
    table = columns(layout_table(LAYOUT, HOSTS, IPS, SENTINELS, {}))
    assert "cache (no master known) :6380" in [row[0] for row in table]


def test_unknown_host_is_a_clear_error() -> None:
    with pytest.raises(AnsibleFilterError, match="no address for 'ghost' in host_ips"):
        layout_table(LAYOUT, HOSTS + ["ghost"], IPS, SENTINELS, {})


def test_registered_under_its_name() -> None:
    assert FilterModule().filters()["layout_table"] is layout_table

"""render_table: content-sized columns, missing values, short rows."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.text_table import render_table


def test_columns_fit_the_longest_cell_and_missing_values_show_a_dash() -> None:
    lines = render_table(["shard", "ms"], [["sessions-eu-west-1", 1200], ["a", None], ["b"]])
    assert lines[0] == "shard              | ms"
    assert lines[1] == "-" * len("shard              | ms  ")
    assert lines[2] == "sessions-eu-west-1 | 1200"
    assert lines[3] == "a                  | -"
    assert lines[4] == "b                  | -"


def test_empty_table_is_header_and_rule() -> None:
    assert render_table(["a", "bb"], []) == ["a | bb", "------"]

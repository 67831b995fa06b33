"""The text_table filter: rows and a header as render_table's lines; bad input named."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.filter.text_table import FilterModule, text_table


def test_rows_render_as_an_aligned_table() -> None:
    lines = FilterModule().filters()["text_table"]([["server1", "5:7.0.15-1~deb12u7", None]], ["host", "before", "after"])
    assert lines == ["host    | before             | after", "-" * len("host    | before             | after"),
                     "server1 | 5:7.0.15-1~deb12u7 | -"]


@pytest.mark.parametrize(("rows", "header", "named"), [("server1", ["host"], "rows"), ([["a"]], "host", "header")])
def test_bad_input_is_named(rows: object, header: object, named: str) -> None:
    with pytest.raises(AnsibleFilterError, match=named):
        text_table(rows, header)

# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-text tables whose columns are as wide as their widest cell, for the playbooks' reports."""

from __future__ import annotations

MISSING = '-'


def cell_text(value):
    """A cell as text: None and '' become MISSING, everything else str()."""
    if value is None or value == '':
        return MISSING
    return str(value)


def render_table(header, rows, separator=' | '):
    """Lines of a table: the header, a rule of dashes, then one line per row.

    Rows shorter than the header are padded with MISSING; every column is as wide as its
    widest cell, so long names never break the alignment. Trailing blanks are stripped.
    """
    width = len(header)
    cells = [[cell_text(value) for value in list(row)[:width]] for row in rows]
    cells = [row + [MISSING] * (width - len(row)) for row in cells]
    head = [str(title) for title in header]
    widths = [max(len(line[i]) for line in [head] + cells) for i in range(width)]

    def line(values):
        return separator.join(value.ljust(widths[i]) for i, value in enumerate(values)).rstrip()

    rule = '-' * len(separator.join('x' * w for w in widths))
    return [line(head), rule] + [line(row) for row in cells]

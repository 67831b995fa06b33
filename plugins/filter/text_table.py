# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text_table filter: rows as an aligned plain-text table (documented in text_table.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.module_utils.text_table import render_table


def text_table(rows, header):
    """Lines of a table: the header, a rule, then one line per row (a list of cells)."""
    if not isinstance(rows, (list, tuple)) or not all(isinstance(row, (list, tuple)) for row in rows):
        raise AnsibleFilterError('text_table: the input must be a list of rows, each a list of cells')
    if not isinstance(header, (list, tuple)):
        raise AnsibleFilterError('text_table: the header must be a list of column titles')
    return render_table(list(header), [list(row) for row in rows])


class FilterModule:
    """shardinel.redis report filters."""

    def filters(self):
        return {'text_table': text_table}

# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layout_table filter: the live layout as a table with one column per host (documented in layout_table.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.module_utils.text_table import render_table


def _host_column(host, ip, layout, sentinels, current_masters):
    cells = ['Sentinel :%s' % sentinel['port'] for sentinel in sentinels if sentinel['host'] == host]
    for shard in layout:
        current = current_masters.get(shard['name'])
        if current == format_address((ip, int(shard['port']))):
            cells.append('%s master :%s' % (shard['name'], shard['port']))
        elif host in [shard['master']] + list(shard['replicas']):
            role = 'replica' if current else '(no master known)'
            cells.append('%s %s :%s' % (shard['name'], role, shard['port']))
    return cells


def layout_table(layout, hosts, host_ips, sentinels, current_masters=None):
    """Lines of a table with one column per host: its Sentinels, then the shards it is master or replica of.

    A shard counts as mastered by a host when current_masters (shard name -> "ip:port", as the
    Sentinels say now) names that host's address; the other members are its replicas.
    """
    current_masters = dict(current_masters or {})
    try:
        columns = [_host_column(host, host_ips[host], layout, sentinels, current_masters) for host in hosts]
    except KeyError as error:
        raise AnsibleFilterError('layout_table: no address for %s in host_ips' % error)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError('layout_table: malformed layout, sentinels or current_masters: %s' % error)
    depth = max([len(column) for column in columns] + [0])
    rows = [[column[i] if i < len(column) else ' ' for column in columns] for i in range(depth)]
    return render_table(list(hosts), rows)


class FilterModule:
    """shardinel.redis report filters."""

    def filters(self):
        return {'layout_table': layout_table}

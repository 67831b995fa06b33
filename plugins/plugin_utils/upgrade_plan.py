# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What playbooks/upgrade.yml decides on the controller from what it read on a host: the versions of each package,
what to install, which processes run a replaced executable, and the report rows."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.plugin_utils.redis_server_plan import host_shards


def versions(lines):
    """Rows {package, installed, target, available, older} from "package installed target yes|no yes|no" lines."""
    rows = []
    for line in lines:
        cells = line.split(' ')
        if len(cells) == 5:
            rows.append(dict(package=cells[0], installed=cells[1], target=cells[2], available=cells[3] == 'yes',
                             older=cells[4] == 'yes'))
    return rows


def installs(rows):
    """"package=version" of each package whose installed version is not the target."""
    return ['%s=%s' % (row['package'], row['target']) for row in rows if row['installed'] != row['target']]


def units(layout, sentinels, host):
    """The systemd units of this host's shard instances and Sentinels."""
    return (['shardinel-redis@%s.service' % shard['name'] for shard in host_shards(layout, host)]
            + ['shardinel-sentinel@%s.service' % sentinel['port'] for sentinel in sentinels if sentinel['host'] == host])


def stale(lines):
    """The units whose process runs an executable that a package upgrade replaced ("unit /path (deleted)" lines)."""
    return [line.split(' ', 1)[0] for line in lines if line.endswith(' (deleted)')]


def work(rows, layout, sentinels, host, executables, server_packages):
    """What this host's turn does: {instances (all of them), switchover (fail its masters over and restart its instances:
    a server package changes or an instance runs a replaced executable), installs, stale_instances, stale_sentinels}."""
    instances = [shard['name'] for shard in host_shards(layout, host)]
    to_install = installs(rows)
    replaced = stale(executables)
    stale_instances = [unit[len('shardinel-redis@'):-len('.service')] for unit in replaced if unit.startswith('shardinel-redis@')]
    stale_sentinels = [int(unit[len('shardinel-sentinel@'):-len('.service')]) for unit in replaced
                       if unit.startswith('shardinel-sentinel@')]
    server_change = any(item.split('=', 1)[0] in server_packages for item in to_install)
    return dict(instances=instances, switchover=bool(instances) and (server_change or bool(stale_instances)),
                installs=to_install, stale_instances=stale_instances, stale_sentinels=stale_sentinels)


def queue(names, host):
    return [dict(host=host, name=name) for name in names]


def version_rows(hostvars, hosts):
    """Report rows host, package, before, target, after from each host's shardinel_upgrade_plan and the dpkg-query lines
    it registered after its turn (shardinel_upgrade_after)."""
    rows = []
    for host in hosts:
        variables = hostvars[host]
        lines = (variables.get('shardinel_upgrade_after') or {}).get('stdout_lines') or []
        after = dict(line.split(' ', 1) for line in lines if ' ' in line)
        rows += [[host, row['package'], row['installed'], row['target'], after.get(row['package'], '-')]
                 for row in variables.get('shardinel_upgrade_plan') or []]
    return rows


def pause_rows(switchovers):
    """Report rows shard, old master, new master, writes paused s from shardinel.redis.instance_restart results."""
    return [[result.get('shard', ''), result.get('address', ''), result.get('new_master', ''), result.get('failover_s', '')]
            for result in switchovers if result.get('new_master')]

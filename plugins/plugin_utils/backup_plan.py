# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller decides for backups and restores: the backup timer's files on a data host (part of the
redis_server role's layout), which host restores which shard of a set, and the tables the playbooks print."""

from __future__ import annotations

import json
import posixpath

# The collection's module_utils that /usr/local/libexec/shardinel/redis-backup imports (backup_run and everything it
# imports, transitively; tests/unit/plugins/filter/test_backup_plan.py checks the list against the imports).
BACKUP_LIBRARY = (
    'backup_run.py', 'backup_sets.py', 'backup_sources.py', 'connection_options.py', 'rdb_snapshot.py', 'redis_wire.py',
    'shard_watch.py', 'shardinel/addresses.py', 'shardinel/layout.py', 'shardinel/sentinel_answers.py',
    'shardinel/slot_table.py', 'shardinel/slots.py',
)
PACKAGE_PATH = ('ansible_collections', 'shardinel', 'redis', 'plugins', 'module_utils')
# The client package's own __init__ imports redis-py, which the hosts need not have.
CLIENT_PACKAGE_INIT = '"""The parts of the shardinel client package that redis-backup imports (no redis-py needed)."""\n'
TIMERS_WANTS = '/etc/systemd/system/timers.target.wants/'


def backup_items(backup):
    """The backup timer's directories, files and links for shardinel.redis.host_layout.

    ``backup``: command (the program's path), program (its source on the controller), library (directory of the
    module_utils tree), module_utils (the collection's module_utils on the controller), settings_file, settings (the
    module's options), directory (the backup directory), metrics_dir (or empty), service and timer (unit paths)."""
    root = dict(owner='root', group='root')
    directories = [dict(root, path=backup['directory'], mode='0700')]
    if backup.get('metrics_dir'):
        directories.append(dict(root, path=backup['metrics_dir'], mode='0755'))
    files = [dict(root, path=backup['command'], mode='0644', src=backup['program'])]
    # Regular packages (an __init__.py at every level), so that no other ansible_collections on the host shadows them.
    package = backup['library']
    for part in PACKAGE_PATH + ('shardinel',):
        package = posixpath.join(package, part)
        directories.append(dict(root, path=package, mode='0755'))
        files.append(dict(root, path=posixpath.join(package, '__init__.py'), mode='0644',
                          content=CLIENT_PACKAGE_INIT if part == 'shardinel' and package.endswith('module_utils/shardinel') else ''))
    module_utils = posixpath.join(backup['library'], *PACKAGE_PATH)
    files += [dict(root, path=posixpath.join(module_utils, name), mode='0644', src=posixpath.join(backup['module_utils'], name))
              for name in BACKUP_LIBRARY]
    files.append(dict(root, path=backup['settings_file'], mode='0600',
                      content=json.dumps(backup['settings'], indent=4, sort_keys=True) + '\n'))
    files += [dict(root, path=backup['service'], mode='0644', template='shardinel-redis-backup.service.j2'),
              dict(root, path=backup['timer'], mode='0644', template='shardinel-redis-backup.timer.j2')]
    links = [dict(path=TIMERS_WANTS + posixpath.basename(backup['timer']), target=backup['timer'])]
    return dict(directories=directories, files=files, links=links)


BACKUP_HEADER = ['shard', 'host', 'source', 'role', 'keys', 'MB', 'seconds']
BACKUP_CHECK_HEADER = ['shard', 'host', 'source', 'role', 'master', 'problems']
RESTORE_HEADER = ['shard', 'host', 'set', 'master', 'keys restored', 'write pause s', 'replica sync s', 'seconds']
RESTORE_CHECK_HEADER = ['shard', 'host', 'set', 'master', 'keys in set', 'backed up', 'staging databases']


def restore_assignment(plans, wanted, hosts):
    """Which data host restores which shards, from every host's shardinel.redis.restore plan (check mode,
    skip_missing): {assignments: {host: {set, shards}}, problems}.

    ``plans``: {host: the module's result}; ``wanted``: the shards to restore; ``hosts``: the data hosts in inventory
    order. A shard held on several hosts is restored from the newest backup of it (the first host among equals). Any
    host's refusal (a corrupt file, a layout that does not match, a reshard in progress, ...) is a problem, and so is a
    wanted shard that no host holds: the playbook stops before any change."""
    problems, best = [], {}
    for host in hosts:
        plan = plans.get(host) or {}
        if plan.get('failed'):
            problems.append('%s: %s' % (host, plan.get('msg', 'the restore check failed')))
            continue
        for shard, entry in sorted((plan.get('shards') or {}).items()):
            candidate = (str(entry.get('backed_up') or ''), host, plan.get('backup_set'))
            if shard not in best or candidate[0] > best[shard][0]:
                best[shard] = candidate
    for shard in wanted:
        if shard not in best:
            why = sorted('%s: %s' % (host, held_why(plans.get(host) or {}, shard)) for host in hosts
                         if not (plans.get(host) or {}).get('failed'))
            problems.append('%s: no data host holds it in the backup set (%s)' % (shard, '; '.join(why) or 'no host answered'))
    assignments = {}
    for shard in wanted:
        if shard in best:
            _backed_up, host, set_name = best[shard]
            entry = assignments.setdefault(host, dict(set=set_name, shards=[]))
            entry['shards'].append(shard)
    return dict(assignments=assignments, problems=problems)


def held_why(plan, shard):
    return (plan.get('skipped') or {}).get(shard) or plan.get('set_missing') or 'its part of the set does not hold it'


def restore_rows(results, assignments):
    """The restore table, header first: per shard restored, its host, set, master, keys and times; from check-mode
    plans (nothing restored), what would be restored."""
    rows, checked = [], False
    for host, result in sorted((results or {}).items()):
        assigned = (assignments.get(host) or {}).get('shards', [])
        for shard, entry in sorted(((result or {}).get('shards') or {}).items()):
            if shard not in assigned:
                continue
            if 'keys_restored' in entry:
                rows.append([shard, host, result.get('backup_set'), entry.get('master'), entry.get('keys_restored'),
                             entry.get('write_pause_s'), entry.get('replica_sync_s'), entry.get('seconds')])
            else:
                checked = True
                rows.append([shard, host, result.get('backup_set'), entry.get('master'), entry.get('keys'), entry.get('backed_up'),
                             ', '.join('%s->%s' % item for item in sorted((entry.get('staging_databases') or {}).items()))])
    return [RESTORE_CHECK_HEADER if checked else RESTORE_HEADER] + sorted(rows)


def backup_rows(results):
    """The backup table, header first: per shard backed up, its host, source, keys, size and seconds, and each shard
    that failed; from check-mode results, where each shard would come from."""
    rows, checked = [], False
    for host, result in sorted((results or {}).items()):
        for shard, entry in sorted(((result or {}).get('shards') or {}).items()):
            source = entry.get('source')
            if isinstance(source, dict):
                rows.append([shard, host, source.get('address'), source.get('role'), entry.get('keys'),
                             round(entry.get('size', 0) / 1048576.0, 2), entry.get('seconds')])
            else:
                checked = True
                rows.append([shard, host, source, entry.get('role'), entry.get('master'), '; '.join(entry.get('problems') or [])])
        for shard, why in sorted(((result or {}).get('failed_shards') or {}).items()):
            rows.append([shard, host, 'FAILED', why])
    return [BACKUP_CHECK_HEADER if checked else BACKUP_HEADER] + sorted(rows, key=lambda row: (row[0], row[1]))

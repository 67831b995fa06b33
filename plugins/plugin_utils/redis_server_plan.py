# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the redis_server role decides on the controller: its settings' problems and warnings, what it lays out on a
data host (for shardinel.redis.host_layout), which found instances block a change, and the order of restarts."""

from __future__ import annotations

import json

from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.plugin_utils.backup_plan import backup_items

GUARD_VARIABLES = ('redis_server_min_replicas_to_write', 'redis_server_min_replicas_max_lag',
                   'redis_server_repl_diskless_sync_delay', 'redis_server_restart_delay', 'redis_server_databases')
WANTS = '/etc/systemd/system/multi-user.target.wants/'
NOT_RUNNING = 'not running'


def host_shards(layout, host):
    """The shards that place a member on ``host``, sorted by name."""
    return sorted((shard for shard in layout if shard['master'] == host or host in shard['replicas']),
                  key=lambda shard: shard['name'])


def guard_report(hosts, layout):
    """(problems, warnings) of the data hosts' guard, delay and database settings.

    ``hosts``: [{host, settings: {variable: int}}] in inventory order."""
    problems, exposed, early = [], [], []
    down_after = max([shard['down_after_milliseconds'] for shard in layout] or [0])
    for entry in hosts:
        host, settings, shards = entry['host'], entry['settings'], host_shards(layout, entry['host'])
        for name in GUARD_VARIABLES:
            if settings[name] < 0:
                problems.append('%s is %d on %s; it must be 0 or more' % (name, settings[name], host))
        if settings['redis_server_databases'] < 16:
            problems.append('redis_server_databases is %d on %s; it must be 16 or more: the published shard layout is kept '
                            'in database 15' % (settings['redis_server_databases'], host))
        guard = settings['redis_server_min_replicas_to_write']
        if guard > 0 and settings['redis_server_min_replicas_max_lag'] < 1:
            problems.append('redis_server_min_replicas_max_lag is %d on %s; it must be at least 1 while '
                            'redis_server_min_replicas_to_write is on (Redis ignores the guard when it is 0)'
                            % (settings['redis_server_min_replicas_max_lag'], host))
        for shard in shards:
            if guard > len(shard['replicas']):
                problems.append('redis_server_min_replicas_to_write is %d on %s, above the number of replicas of shard %s (%d): '
                                'its master would refuse every write; lower it or add replicas (shardinel_shards[%s].replicas)'
                                % (guard, host, shard['name'], len(shard['replicas']), shard['name']))
        at_limit = [shard['name'] for shard in shards if guard > 0 and len(shard['replicas']) == guard]
        if at_limit:
            exposed.append('%s (redis_server_min_replicas_to_write %d; shards %s)' % (host, guard, ', '.join(at_limit)))
        if settings['redis_server_restart_delay'] <= down_after / 1000.0 + 1:
            early.append(host)
    warnings = []
    if exposed:
        warnings.append(
            'on %s the write guard asks for every replica the shard has. A master of such a shard accepts writes only while '
            'all its replicas are connected and at most redis_server_min_replicas_max_lag seconds behind, so an acknowledged '
            'write is never on the master alone; the price is availability. Losing a replica\'s host stops writes to that '
            'shard until the replica is back. On two data hosts every shard has a member on each, so losing a host stops '
            'writes everywhere: the masters on the surviving host lose their replica, and the shards mastered on the lost '
            'host have no master, or one without a replica if Sentinel fails them over, until the lost host returns. Give '
            'the shards more replicas to keep writing through the loss of one host.' % ', '.join(exposed))
    if early:
        warnings.append(
            'redis_server_restart_delay is not above the largest down_after_milliseconds (%d ms) plus 1 s on %s. systemd '
            'may then restart a crashed master before Sentinel fails it over: it comes back from its AOF as master, '
            'without the writes of its last second that its replica had, takes writes again, and its replica must resync '
            'in full. Set it above %.1f s.' % (down_after, ', '.join(early), down_after / 1000.0 + 1))
    return problems, warnings


def port_takeovers(instances, found, host):
    """Problems: a new instance would listen on the port of a found instance of another shard that runs."""
    problems = []
    for instance in instances:
        for other in found:
            if other['name'] != instance['name'] and other['port'] == instance['port'] and other['state'] != NOT_RUNNING:
                problems.append('shard %s (shardinel_shards[%s].port) would listen on port %d of %s, where the instance of '
                                'shard %s runs' % (instance['name'], instance['name'], instance['port'], host, other['name']))
    return problems


def removal_problems(removed, found, published, host, remove_nonempty):
    """Problems that stop the removal of the instances of ``removed`` shards: a published layout still names one, or
    one holds keys (unless ``remove_nonempty``)."""
    problems = []
    named = [name for name in removed if name in list(published.get('shards', [])) + list(published.get('previous', []))]
    for name in named:
        if 'previous' in published:
            where = ', moving keys from %s to %s' % (', '.join(published['previous']), ', '.join(published['shards']))
        else:
            where = ': %s' % ', '.join(published['shards'])
        problems.append('Shard %s is no longer in shardinel_shards but the published shard layout (version %s%s) still names '
                        'it, so clients route keys to it.' % (name, published.get('version'), where))
    if named:
        problems.append('Run playbooks/scale.yml (shardinel.redis.scale) first: it moves the shard\'s keys to the shards of '
                        'shardinel_shards and then removes it (or run shardinel.redis.reshard with the shards to keep, then '
                        'this playbook).')
    holding = [item for item in found if item['name'] in removed and item['state'] != NOT_RUNNING and item['key_count']]
    if holding and not remove_nonempty:
        problems += ['Shard %s is no longer in shardinel_shards but its instance on %s holds %d key(s).'
                     % (item['name'], host, item['key_count']) for item in holding]
        problems.append('Move its keys to the remaining shards first (playbooks/scale.yml), or set '
                        'redis_server_remove_nonempty_shards: true to remove it anyway (its data directory is kept unless '
                        'redis_server_purge_removed is true).')
    return problems


def layout_items(settings):
    """Everything the role lays out on a data host, as shardinel.redis.host_layout's directories, files, links and units.

    ``settings``: instances (this host's shards), config_dir, data_dir, log_dir, user, group, libexec_dir,
    check_command, start_role_command, start_role_settings (the helper's JSON settings), helper_sources (install path
    relative to libexec_dir -> source file on the controller), unit, target, distribution_units, tls_dir, tls_files
    ({path, mode, src}), tls_pending; and backup, the backup timer's settings (backup_plan.backup_items), or empty while
    the timer is off."""
    redis = dict(owner=settings['user'], group=settings['group'])
    root = dict(owner='root', group='root')
    libexec = settings['libexec_dir']
    directories = [dict(redis, path=settings['config_dir'], mode='0750'), dict(redis, path=settings['data_dir'], mode='0750')]
    directories += [dict(redis, path='%s/%s' % (settings['data_dir'], shard['name']), mode='0750') for shard in settings['instances']]
    directories += [dict(path=settings['log_dir'], owner=settings['user'], mode='2750'), dict(root, path=libexec, mode='0755'),
                    dict(root, path=libexec + '/shardinel', mode='0755')]
    files = [dict(root, path=settings['check_command'], mode='0755', template='redis-check-config.sh.j2')]
    if settings['tls_files']:
        directories.append(dict(redis, path=settings['tls_dir'], mode='0750'))
        files += [tls_file(item, redis, settings['tls_pending']) for item in settings['tls_files']]
    files += [dict(root, path=settings['start_role_command'], mode='0644', src=settings['helper_sources']['redis-start-role'])]
    files += [dict(root, path='%s/%s' % (libexec, name), mode='0644', src=source)
              for name, source in sorted(settings['helper_sources'].items()) if name != 'redis-start-role']
    files.append(dict(redis, path=settings['start_role_settings'], mode='0640',
                      content=json.dumps(settings['start_role'], indent=4, sort_keys=True) + '\n'))
    links = [dict(path=WANTS + 'shardinel-redis.target', target=settings['target'])]
    for shard in settings['instances']:
        base = '%s/%s' % (settings['config_dir'], shard['name'])
        check = settings['check_command']
        instance_vars = dict(redis_server__instance=shard)
        files += [
            dict(redis, path=base + '.acl', mode='0640', template='redis-instance.acl.j2', validate=check + ' --aclfile %s'),
            dict(redis, path=base + '.auth.conf', mode='0640', template='redis-instance.auth.conf.j2', validate=check + ' %s'),
            dict(redis, path=base + '.static.conf', mode='0640', template='redis-instance.static.conf.j2', vars=instance_vars,
                 validate=check + ' %s'),
            dict(redis, path=base + '.conf', mode='0640', template='redis-instance.conf.j2', vars=instance_vars,
                 validate=check + ' %s', create_only=True),
        ]
        links.append(dict(path='%sshardinel-redis@%s.service' % (WANTS, shard['name']), target=settings['unit']))
    files += [dict(root, path=settings['unit'], mode='0644', template='shardinel-redis@.service.j2'),
              dict(root, path=settings['target'], mode='0644', template='shardinel-redis.target.j2')]
    links += [dict(path='/etc/systemd/system/' + unit, target='/dev/null') for unit in settings['distribution_units']]
    units = ['shardinel-redis@%s.service' % shard['name'] for shard in settings['instances']]
    if settings.get('backup'):
        timer = backup_items(settings['backup'])
        directories, files, links = directories + timer['directories'], files + timer['files'], links + timer['links']
    return dict(directories=directories, files=files, links=links, units=units)


def tls_file(item, owner, pending):
    """A generated TLS file for host_layout: its controller source, or a placeholder while it is not generated yet (a
    check-mode run before the first real one). A private key's content never shows in a diff."""
    entry = dict(owner, path=item['path'], mode=item['mode'])
    if item['path'].endswith('.key'):
        entry['diff'] = False
    if pending:
        entry['content'] = '(generated on the controller by the first run that is not in check mode)\n'
    else:
        entry['src'] = item['src']
    return entry


def restart_order(queue, shards, layout, host_ips):
    """The instances of ``queue`` ({host, name}) with each shard's current master last: a master restarted before its
    replica would be failed over twice. ``shards``: shardinel.redis.topology_check's report of them ({name: {master}})."""
    ports = dict((shard['name'], shard['port']) for shard in layout)

    def is_master(item):
        address = format_address((str(host_ips.get(item['host'])), int(ports.get(item['name'], 0))))
        return (shards.get(item['name']) or {}).get('master') == address
    return [item for item in queue if not is_master(item)] + [item for item in queue if is_master(item)]


def changed_instances(report, instances, host, host_ip, config_dir, unit):
    """The running instances a layout change asks to restart, as {host, name, address}: every instance whose main config
    existed before this run when the unit file was replaced, else those whose static settings changed. ACL users and
    replication credentials are applied at runtime instead."""
    changed, created = set(report.get('changed_paths', [])), set(report.get('created', []))
    unit_replaced = unit in changed and unit not in created
    out = []
    for shard in instances:
        base = '%s/%s' % (config_dir, shard['name'])
        if base + '.conf' in created:
            continue
        if unit_replaced or base + '.static.conf' in changed:
            out.append(dict(host=host, name=shard['name'], address=format_address((host_ip, shard['port']))))
    return out


RESTART_HEADER = ['host', 'instance', 'master before', 'new master', 'writes paused s', 'demoted s', 'restart s',
                  'back in sync s']
CHECK_HEADER = ['host', 'instance', 'master now', 'would fail over', 'would restart']


def restart_rows(results):
    """The restart table of shardinel.redis.instance_restart results (a loop's): the header, then one row per instance
    with its master before, new master and times, or, in check mode, what would be done."""
    ran = [result for result in results if not result.get('skipped')]
    checked = any('would_restart' in result for result in ran)
    rows = [CHECK_HEADER if checked else RESTART_HEADER]
    for result in ran:
        item = result.get('item') or {}
        if checked:
            fail_over = result.get('would_fail_over')
            rows.append([item.get('host', ''), item.get('name', ''), result.get('master_before', ''),
                         'unknown' if fail_over is None else ('yes' if fail_over else 'no'),
                         'yes' if result.get('would_restart') else 'no'])
        else:
            rows.append([item.get('host', ''), item.get('name', ''), result.get('master_before', ''),
                         result.get('new_master', ''), result.get('failover_s', ''), result.get('demoted_s', ''),
                         result.get('restart_s', ''), result.get('back_s', '')])
    return rows

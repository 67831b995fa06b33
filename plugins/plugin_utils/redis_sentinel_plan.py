# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the redis_sentinel role lays out on a Sentinel host (for shardinel.redis.host_layout), which of the host's
running Sentinels a layout change asks to restart, and whose monitors need shardinel.redis.sentinel_monitors."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_monitors import SETTINGS as MONITOR_SETTINGS
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_monitors import monitor_commands
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_monitors import validate as validate_monitors
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address
from ansible_collections.shardinel.redis.plugins.plugin_utils.redis_server_plan import WANTS, tls_file


def config_path(config_dir, port):
    return '%s/sentinel-%s.conf' % (config_dir, port)


def layout_items(settings):
    """``settings``: ports (this host's Sentinels), config_dir, data_dir, log_dir, user, group, unit, target,
    distribution_units, tls_dir, tls_files ({path, mode, src}), tls_pending. Each Sentinel's config is created once from
    the template sentinel.conf.j2 (Sentinel rewrites it from then on)."""
    sentinel = dict(owner=settings['user'], group=settings['group'])
    root = dict(owner='root', group='root')
    directories = [dict(sentinel, path=settings['config_dir'], mode='0750'), dict(sentinel, path=settings['data_dir'], mode='0750')]
    files = []
    if settings['tls_files']:
        directories.append(dict(sentinel, path=settings['tls_dir'], mode='0750'))
        files += [tls_file(item, sentinel, settings['tls_pending']) for item in settings['tls_files']]
    links = [dict(path=WANTS + 'shardinel-sentinel.target', target=settings['target'])]
    for port in settings['ports']:
        directories.append(dict(sentinel, path='%s/sentinel-%s' % (settings['data_dir'], port), mode='0750'))
        files.append(dict(sentinel, path=config_path(settings['config_dir'], port), mode='0640', template='sentinel.conf.j2',
                          vars=dict(redis_sentinel__port=port), create_only=True))
        links.append(dict(path='%sshardinel-sentinel@%s.service' % (WANTS, port), target=settings['unit']))
    directories.append(dict(path=settings['log_dir'], owner=settings['user'], mode='2750'))
    files += [dict(root, path=settings['unit'], mode='0644', template='shardinel-sentinel@.service.j2'),
              dict(root, path=settings['target'], mode='0644', template='shardinel-sentinel.target.j2')]
    links += [dict(path='/etc/systemd/system/' + unit, target='/dev/null') for unit in settings['distribution_units']]
    units = ['shardinel-sentinel@%s.service' % port for port in settings['ports']]
    return dict(directories=directories, files=files, links=links, units=units)


def changed_sentinels(report, ports, host, config_dir, unit):
    """The running Sentinels to restart after a layout change, as {host, port}: those whose config existed before this
    run, when the unit file was replaced. Their configs belong to Sentinel; monitor and credential changes are applied
    at runtime."""
    changed, created = set(report.get('changed_paths', [])), set(report.get('created', []))
    if unit not in changed or unit in created:
        return []
    return [dict(host=host, port=port) for port in ports if config_path(config_dir, port) not in created]


def monitors_pending(views, sentinels, shards, current_masters, prune):
    """The Sentinels of ``sentinels`` (``ip:port``) that shardinel.redis.sentinel_monitors has something to do on, judged
    from ``views``, the SENTINEL MASTERS answers that shardinel.redis.sentinel_masters read at the start of the play: a
    Sentinel that did not answer then, and one whose monitors the module's own rule (monitor_commands) would change.
    ``shards``: shardinel_layout; ValueError naming the setting that the module would refuse."""
    wanted = []
    for shard in shards:
        entry = dict(name=shard['name'], master_ip=shard['master_ip'], port=int(shard['port']))
        for option, _setting in MONITOR_SETTINGS:
            entry[option] = None if shard.get(option) is None else int(shard[option])
        wanted.append(entry)
    params = dict(shards=wanted, current_masters=current_masters or {}, remove=[], prune=bool(prune), auth_user=None,
                  auth_pass=None, timeout=1.0)
    masters = validate_monitors(params)
    views = views or {}
    labels = [(sentinel, format_address(parse_address(sentinel, 'sentinels'))) for sentinel in sentinels]
    return [sentinel for sentinel, label in labels if label not in views or monitor_commands(views[label], params, masters)]

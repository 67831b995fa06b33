# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology a run deploys, computed on the controller from the inventory, and every problem with it.

``plan(hosts, servers, sentinel_hosts, settings)`` returns the layout (shards with their placement and Sentinel
settings), the Sentinels, the addresses, the single-host losses that leave no Sentinel majority, and ``problems``:
one sentence per mistake, each naming the variable to fix. The shardinel role fails on any problem before a host is
changed.

``hosts`` maps each inventory host of redis_servers and redis_sentinels to what it publishes: announce_ip,
sentinel_count, sentinel_port, engine and platform ("Debian 12"; "unknown" when its facts were not gathered).
"""

from __future__ import annotations

import re

SHARD_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
PLACEHOLDER = re.compile(r'(?i)(change[_ -]?me|placeholder|replace[_ -]?me|^<.*>$|^x+$|^todo|^secret$|^password$)')
# (variable of the current password, variable of the previous ones); the monitor user is optional.
PASSWORD_VARIABLES = (
    ('shardinel_admin_password', 'shardinel_admin_previous_passwords'),
    ('shardinel_replication_password', 'shardinel_replication_previous_passwords'),
    ('shardinel_sentinel_password', 'shardinel_sentinel_previous_passwords'),
    ('shardinel_app_password', 'shardinel_app_previous_passwords'),
    ('shardinel_sentinel_admin_password', 'shardinel_sentinel_admin_previous_passwords'),
    ('shardinel_sentinel_client_password', 'shardinel_sentinel_client_previous_passwords'),
    ('shardinel_monitor_password', 'shardinel_monitor_previous_passwords'),
)
OPTIONAL_PASSWORDS = ('shardinel_monitor_password',)
# Sentinel rewrites its config with these unquoted, and would not start again from a value with whitespace.
UNQUOTED_BY_SENTINEL = ('shardinel_sentinel_admin_password', 'shardinel_sentinel_password')


def as_int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def positive_int(value):
    number = as_int(value)
    return number if number is not None and number > 0 and str(value).strip().isdigit() else None


def join_names(names, word='and'):
    names = list(names)
    return names[0] if len(names) == 1 else '%s %s %s' % (', '.join(names[:-1]), word, names[-1])


def sentinels_of(hosts, sentinel_hosts, host_ips):
    out = []
    for host in sentinel_hosts:
        count, port = positive_int(hosts[host]['sentinel_count']) or 0, positive_int(hosts[host]['sentinel_port'])
        for index in range(count if port else 0):
            out.append(dict(host=host, ip=host_ips[host], port=port + index))
    return out


def default_quorum(settings, sentinels):
    quorum = as_int(settings.get('sentinel_quorum'), 0)
    return quorum if quorum > 0 else len(sentinels) // 2 + 1


def shard_specs(settings, servers):
    specs = settings.get('shards') or []
    return specs if specs else [dict(name='shard%d' % (index + 1)) for index in range(len(servers))]


def layout_of(settings, servers, host_ips, sentinels):
    """Each shard with its port, bootstrap placement (master on host i mod H, replica on the next host) and Sentinel
    settings, defaults filled in."""
    count, quorum = len(servers), default_quorum(settings, sentinels)
    shards = []
    for index, spec in enumerate(shard_specs(settings, servers)):
        spec = spec if isinstance(spec, dict) else dict(name=spec)
        master = str(spec.get('master') or (servers[index % count] if count else ''))
        ring_next = servers[(servers.index(master) + 1) % count] if master in servers else ''
        replicas = spec.get('replicas') or ([ring_next] if ring_next else [])
        shards.append(dict(
            name=str(spec.get('name') or ''),
            port=as_int(spec.get('port') or as_int(settings.get('redis_port'), 6379) + index, 0),
            master=master,
            master_ip=host_ips.get(master, ''),
            replicas=[str(host) for host in replicas],
            quorum=as_int(spec.get('quorum') or quorum, 0),
            down_after_milliseconds=as_int(spec.get('down_after_milliseconds') or settings.get('down_after_milliseconds'), 0),
            failover_timeout=as_int(spec.get('failover_timeout') or settings.get('failover_timeout'), 0),
            parallel_syncs=as_int(spec.get('parallel_syncs') or settings.get('parallel_syncs'), 0),
        ))
    return shards


def sockets_of(layout, sentinels, host_ips):
    """Every listening socket: {address, host, owner, variable}."""
    out = []
    for shard in layout:
        for host in [shard['master']] + shard['replicas']:
            out.append(dict(address='%s:%s' % (host_ips.get(host, ''), shard['port']), host=host, owner='shard ' + shard['name'],
                            variable='shardinel_shards[%s].port' % shard['name']))
    for sentinel in sentinels:
        out.append(dict(address='%s:%s' % (sentinel['ip'], sentinel['port']), host=sentinel['host'], owner='Sentinel',
                        variable='shardinel_sentinel_port'))
    return out


def unsurvivable(hosts, sentinels, layout):
    """Hosts whose loss leaves fewer Sentinels than the majority or some shard's quorum."""
    needed = max([len(sentinels) // 2 + 1] + [shard['quorum'] for shard in layout])
    out = []
    for host in hosts:
        left = len(sentinels) - len([s for s in sentinels if s['host'] == host])
        if left < needed:
            out.append(dict(host=host, sentinels_left=left))
    return out


def survivability_message(sentinels, layout, lost):
    text = 'Sentinel majority is %d of %d Sentinels (largest quorum %s). ' % (
        len(sentinels) // 2 + 1, len(sentinels), max([shard['quorum'] for shard in layout] or [0]))
    text += ''.join('Losing host %s leaves %d. ' % (item['host'], item['sentinels_left']) for item in lost)
    return text + ('No automatic failover can happen after such a whole-host loss; add a witness host with one Sentinel '
                   'to redis_sentinels (shardinel_sentinel_count 1) to survive it.')


def host_problems(hosts, servers, sentinel_hosts, settings):
    problems = []
    if len(servers) < 2:
        problems.append('Inventory group redis_servers must hold at least two data hosts, so that each shard\'s master and '
                        'replica live on different hosts; it holds %d (%s).' % (len(servers), ', '.join(servers)))
    engines = settings['engines']
    engine = settings['engine']
    used = sorted(set(str(hosts[host]['engine']) for host in hosts))
    if len(used) > 1:
        problems.append('shardinel_engine differs between hosts (%s): every host of a topology must run the same engine.'
                        % ', '.join('%s: %s' % (host, hosts[host]['engine']) for host in hosts))
    elif engine in engines:
        platforms = engines[engine]['platforms']
        wrong = [host for host in hosts if hosts[host]['platform'] not in ['unknown'] + list(platforms)]
        if wrong:
            problems.append('shardinel_engine %s is supported on %s only; %s.' % (
                engine, ' and '.join(platforms), ', '.join('%s runs %s' % (host, hosts[host]['platform']) for host in wrong)))
    if not sentinel_hosts:
        problems.append('Inventory group redis_sentinels is empty; list the data hosts (and any witness hosts) in it.')
    missing_ip = [host for host in hosts if not hosts[host]['announce_ip']]
    if missing_ip:
        problems.append('shardinel_announce_ip is empty for %s and no default IPv4 address was found; set it in the host\'s '
                        'inventory variables.' % ', '.join(missing_ip))
    bad_counts = [host for host in sentinel_hosts if positive_int(hosts[host]['sentinel_count']) is None]
    bad_ports = [host for host in sentinel_hosts if not 0 < (positive_int(hosts[host]['sentinel_port']) or 0) < 65536]
    if bad_counts:
        problems.append('shardinel_sentinel_count must be a positive integer (hosts: %s).' % ', '.join(bad_counts))
    if bad_ports:
        problems.append('shardinel_sentinel_port must be a port number (hosts: %s).' % ', '.join(bad_ports))
    return problems


def tls_problems(settings):
    tls = settings['tls']
    if settings['tls_only'] and not tls['enabled']:
        return ['shardinel_tls_only is true but shardinel_tls is false: set shardinel_tls too (shardinel_tls_only only closes '
                'the plaintext ports of a TLS topology).']
    if tls['enabled'] and not tls['generate']:
        missing = [name for name in ('shardinel_tls_ca_file', 'shardinel_tls_cert_file', 'shardinel_tls_key_file')
                   if not tls[name]]
        if missing:
            return ['shardinel_tls is true but %s %s empty: give the CA, certificate and key paths on the hosts, or set '
                    'shardinel_tls_generate to generate them.' % (', '.join(missing), 'is' if len(missing) == 1 else 'are')]
    return []


def shard_problems(layout, servers, sentinels, sockets, settings):
    problems = []
    names = [shard['name'] for shard in layout]
    invalid = [name for name in names if not SHARD_NAME.match(name)]
    if invalid:
        problems.append('shardinel_shards: shard names must be 1-64 letters, digits, \'.\', \'_\' or \'-\' and start with a '
                        'letter or digit; invalid: %s.' % ', '.join('"%s"' % name for name in invalid))
    duplicates = sorted(set(name for name in names if names.count(name) > 1), key=names.index)
    if duplicates:
        problems.append('shardinel_shards: duplicate shard names: %s.' % ', '.join(duplicates))
    unknown = []
    for shard in layout:
        if shard['master'] not in servers:
            unknown.append('shardinel_shards[%s].master names "%s"' % (shard['name'], shard['master']))
        unknown += ['shardinel_shards[%s].replicas names "%s"' % (shard['name'], host) for host in shard['replicas']
                    if host not in servers]
    if unknown:
        problems.append('%s, which is not a host of inventory group redis_servers.' % '; '.join(unknown))
    runner = settings.get('reshard_runner')
    if runner and runner not in servers:
        problems.append('shardinel_reshard_runner names "%s", which is not a host of inventory group redis_servers (it runs '
                        'the reshard module, which must reach every instance and Sentinel).' % runner)
    placement = []
    for shard in layout:
        if not shard['replicas']:
            placement.append('shardinel_shards[%s].replicas is empty; every shard needs a replica' % shard['name'])
        elif shard['master'] in shard['replicas']:
            placement.append('shardinel_shards[%s] places its master and a replica on the same host %s' % (shard['name'], shard['master']))
        elif len(set(shard['replicas'])) != len(shard['replicas']):
            placement.append('shardinel_shards[%s].replicas lists a host twice' % shard['name'])
    if placement:
        problems.append('%s.' % '; '.join(placement))
    bad_ports = [shard['name'] for shard in layout if not 0 < shard['port'] < 65536]
    if bad_ports:
        problems.append('shardinel_shards[%s].port must be between 1 and 65535.' % '], shardinel_shards['.join(bad_ports))
    by_address = {}
    for socket in sockets:
        by_address.setdefault(socket['address'], []).append(socket)
    for address, users in by_address.items():
        if len(users) > 1:
            problems.append('port collision at %s (host %s): %s' % (address, users[0]['host'], ' and '.join(
                '%s from %s' % (item['owner'], item['variable']) for item in users)))
    for shard in layout:
        if shard['quorum'] > len(sentinels):
            problems.append('shardinel_shards[%s].quorum (%d, or shardinel_sentinel_quorum) is larger than the number of '
                            'Sentinels (%d).' % (shard['name'], shard['quorum'], len(sentinels)))
        elif shard['quorum'] < 1:
            problems.append('shardinel_shards[%s].quorum must be at least 1.' % shard['name'])
    timings = [shard['name'] for shard in layout
               if min(shard['down_after_milliseconds'], shard['failover_timeout'], shard['parallel_syncs']) < 1]
    if timings:
        problems.append('shardinel_shards[%s]: down_after_milliseconds, failover_timeout and parallel_syncs (or their '
                        'shardinel_sentinel_* defaults) must be positive.' % '], shardinel_shards['.join(timings))
    return problems


def password_problems(passwords):
    """``passwords``: every variable of PASSWORD_VARIABLES and its value."""
    problems = []
    current = [(name, passwords.get(name)) for name, _previous in PASSWORD_VARIABLES]
    missing = [name for name, value in current if not value and name not in OPTIONAL_PASSWORDS]
    if missing:
        problems.append('Missing or empty password: %s.' % ', '.join(missing))
    placeholders = [name for name, value in current if value and PLACEHOLDER.search(str(value))]
    if placeholders:
        problems.append('Placeholder password, replace it (for example from ansible-vault): %s.' % ', '.join(placeholders))
    sharing = {}
    for name, value in current:
        if value:
            sharing.setdefault(value, []).append(name)
    shared = [' and '.join(names) for names in sharing.values() if len(names) > 1]
    if shared:
        problems.append('Every user needs its own password, but these share one: %s.' % '; '.join(shared))
    not_lists = [previous for _name, previous in PASSWORD_VARIABLES if not isinstance(passwords.get(previous) or [], list)]
    if not_lists:
        problems.append('%s must be a list of passwords (YAML list, not a string).' % ', '.join(not_lists))
    for name, previous_name in PASSWORD_VARIABLES:
        previous = passwords.get(previous_name) or []
        if not isinstance(previous, list):
            continue
        for index, value in enumerate(previous):
            if not isinstance(value, str) or not value:
                problems.append('%s[%d] is empty or not a string.' % (previous_name, index))
            elif value == passwords.get(name):
                problems.append('%s[%d] equals %s: a previous password must differ from the current one.'
                                % (previous_name, index, name))
        if len(set(map(str, previous))) != len(previous):
            problems.append('%s lists a password twice.' % previous_name)
    spaced = [name for name in UNQUOTED_BY_SENTINEL if passwords.get(name) and re.search(r'\s', str(passwords[name]))]
    if spaced:
        problems.append('%s must not contain whitespace: Sentinel rewrites its config with sentinel-pass and auth-pass '
                        'unquoted, and would not start again from it.' % ' and '.join(spaced))
    return problems


def plan(hosts, servers, sentinel_hosts, settings):
    """The topology and its problems; see the module docstring. ``settings``: shards, redis_port, sentinel_quorum,
    down_after_milliseconds, failover_timeout, parallel_syncs, engine, engines, tls {enabled, generate,
    shardinel_tls_ca_file, shardinel_tls_cert_file, shardinel_tls_key_file}, tls_only, reshard_runner, strict, passwords."""
    everyone = list(dict.fromkeys(list(servers) + list(sentinel_hosts)))
    host_ips = dict((host, str(hosts[host]['announce_ip'] or '')) for host in everyone)
    sentinels = sentinels_of(hosts, sentinel_hosts, host_ips)
    layout = layout_of(settings, list(servers), host_ips, sentinels)
    sockets = sockets_of(layout, sentinels, host_ips)
    problems = host_problems(hosts, list(servers), list(sentinel_hosts), settings) + tls_problems(settings)
    problems += shard_problems(layout, list(servers), sentinels, sockets, settings)
    problems += password_problems(settings.get('passwords') or {})
    lost = unsurvivable(everyone, sentinels, layout) if sentinels and layout else []
    warnings, message = [], ''
    if lost:
        message = survivability_message(sentinels, layout, lost)
        if settings.get('strict'):
            problems.append(message + ' shardinel_preflight_strict is true, so this stops the run.')
        else:
            warnings.append(message)
    return dict(
        layout=layout,
        sentinels=sentinels,
        sentinel_addresses=['%s:%s' % (s['ip'], s['port']) for s in sentinels],
        host_ips=host_ips,
        address_hosts=dict((socket['address'], socket['host']) for socket in sockets),
        unsurvivable_hosts=lost,
        survivability=message,
        problems=problems,
        warnings=warnings,
    )

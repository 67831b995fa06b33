# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitors of running Sentinels made to match the wanted shards at runtime (SENTINEL MONITOR, SET, REMOVE).

Sentinel owns its config file and rewrites it on every change, so it is never written here. A shard a Sentinel does
not monitor is added at its current master (as the Sentinels name it, else its bootstrap placement); a monitored
shard only gets the settings that differ: it is never monitored again nor moved, since after a failover the Sentinel
knows the master better than any inventory.
"""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection, ReplyError, WireError
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_views import read_views
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import (
    format_address, parse_address, parse_addresses)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import state_address

# option: the Sentinel setting (quorum is also an argument of SENTINEL MONITOR)
SETTINGS = (('quorum', 'quorum'), ('down_after_milliseconds', 'down-after-milliseconds'),
            ('failover_timeout', 'failover-timeout'), ('parallel_syncs', 'parallel-syncs'))
HIDDEN = '********'


class MonitorError(Exception):
    """A Sentinel did not answer or refused a command; the message names it and holds no secret."""


def validate(params):
    """{shard: (host, port) of the master a new monitor starts at}; ValueError naming the option otherwise."""
    masters = {}
    for index, shard in enumerate(params['shards']):
        if shard['name'] in masters:
            raise ValueError('shards[%d]: shard %s is listed twice' % (index, shard['name']))
        for option, _setting in SETTINGS:
            if shard[option] is not None and shard[option] < (0 if option == 'parallel_syncs' else 1):
                raise ValueError('shards[%d] (%s): %s must be positive, got %d' % (index, shard['name'], option, shard[option]))
        current = (params['current_masters'] or {}).get(shard['name'])
        if current is not None:
            masters[shard['name']] = parse_address(current, 'current_masters[%s]' % shard['name'])
        else:
            masters[shard['name']] = parse_address((shard['master_ip'], shard['port']), 'shards[%d] (%s)' % (index, shard['name']))
    for name in params['remove']:
        if name in masters:
            raise ValueError('remove: shard %s is also in shards' % name)
    if params['prune'] and not params['shards']:
        raise ValueError('prune needs shards: without them it would remove every monitor')
    if params['auth_user'] is not None and params['auth_pass'] is None:
        raise ValueError('auth_user is set but auth_pass is not')
    if params['timeout'] <= 0:
        raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])
    return masters


def shown(command):
    """The command as text, the value of auth-pass hidden."""
    words = [str(word) for word in command]
    if words[:2] == ['SENTINEL', 'SET']:
        for index in range(3, len(words) - 1, 2):
            if words[index] == 'auth-pass':
                words[index + 1] = HIDDEN
    return ' '.join(words)


def monitor_commands(held, params, masters):
    """The SENTINEL commands that make one Sentinel's monitors (its parsed SENTINEL MASTERS) match the wanted shards."""
    by_name = dict((state['name'], state) for state in held)
    commands = []
    for shard in params['shards']:
        name = shard['name']
        if name not in by_name:
            host, port = masters[name]
            commands.append(['SENTINEL', 'MONITOR', name, host, port, shard['quorum']])
            options = []
            if params['auth_user'] is not None:
                options += ['auth-user', params['auth_user']]
            if params['auth_pass'] is not None:
                options += ['auth-pass', params['auth_pass']]
            for option, setting in SETTINGS[1:]:
                if shard[option] is not None:
                    options += [setting, shard[option]]
            if options:
                commands.append(['SENTINEL', 'SET', name] + options)
            continue
        options = []
        for option, setting in SETTINGS:
            if shard[option] is not None and by_name[name].get(setting) != shard[option]:
                options += [setting, shard[option]]
        if options:
            commands.append(['SENTINEL', 'SET', name] + options)
    commands += [['SENTINEL', 'REMOVE', name] for name in sorted(by_name) if removed(name, params)]
    return commands


def removed(name, params):
    """Whether the monitor of shard ``name`` goes: it is in remove, or prune is on and it is not in shards."""
    return name in params['remove'] or (params['prune'] and name not in [shard['name'] for shard in params['shards']])


def monitor_lines(held, params, masters):
    """(before, after): one line per monitor, as the Sentinel holds it and as it would after the commands."""
    wanted = dict((shard['name'], shard) for shard in params['shards'])
    before, after = {}, {}
    for state in held:
        before[state['name']] = (state_address(state), state)
        if not removed(state['name'], params):
            after[state['name']] = (state_address(state), dict(state))
    for name, shard in wanted.items():
        values = after.setdefault(name, (format_address(masters[name]), {}))[1]
        values.update((setting, shard[option]) for option, setting in SETTINGS if shard[option] is not None)
    return _lines(before), _lines(after)


def _lines(monitors):
    return ['%s %s %s' % (name, address, ' '.join('%s %s' % (setting, values[setting]) for _option, setting in SETTINGS
                                                  if values.get(setting) is not None))
            for name, (address, values) in sorted(monitors.items())]


def converge_monitors(params, tls, check_mode):
    """{"changed", "commands": {Sentinel: [commands shown]}, "unanswered": {Sentinel: why}, "diff": [...]}.

    Every Sentinel must answer. In check mode one that does not is only listed: a Sentinel that a real run starts
    first (a fresh host) cannot be asked before it runs, and nothing is sent anyway."""
    masters = validate(params)
    addresses = parse_addresses(params['sentinels'], 'sentinels')
    passwords = [params['sentinel_password']] + params['sentinel_previous_passwords']
    views, unanswered, accepted = read_views(addresses, params['sentinel_username'], passwords, tls, params['timeout'])
    if unanswered and not check_mode:
        raise MonitorError('these Sentinels of sentinels did not answer SENTINEL MASTERS (they must run before their '
                           'monitors are set): %s' % '; '.join('%s (%s)' % item for item in sorted(unanswered.items())))
    result = dict(changed=False, commands={}, unanswered=unanswered, diff=[])
    for address in addresses:
        label = format_address(address)
        if label not in views:
            continue
        commands = monitor_commands(views[label], params, masters)
        if not commands:
            continue
        result['changed'] = True
        result['commands'][label] = [shown(command) for command in commands]
        before, after = monitor_lines(views[label], params, masters)
        result['diff'].append(dict(before_header='%s monitors (held)' % label, after_header='%s monitors (wanted)' % label,
                                   before=''.join(item + '\n' for item in before),
                                   after=''.join(item + '\n' for item in after)))
        if not check_mode:
            send(address, label, commands, params, accepted[label], tls)
    return result


def send(address, label, commands, params, password, tls):
    try:
        with Connection(address, params['sentinel_username'], password, tls, params['timeout']) as sentinel:
            replies = sentinel.pipeline(commands)
    except (WireError, ReplyError) as error:
        raise MonitorError('Sentinel %s: %s' % (label, error))
    for command, reply in zip(commands, replies):
        if isinstance(reply, ReplyError):
            raise MonitorError('Sentinel %s refused %s: %s' % (label, shown(command), reply))

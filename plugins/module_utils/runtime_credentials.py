# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACL users and the credentials servers use, applied to running Redis instances or Sentinels without a restart.

Two phases, each run on every server of a play before the next, so that every server accepts a new password before
any server uses it:

- ``accept``: the ACL users (``ACL SETUSER``, ``ACL DELUSER``; Sentinels then ``SENTINEL FLUSHCONFIG``). ``ACL LOAD``
  is not used: before Redis 7.2 it disconnects every client, replicas included.
- ``use``: ``masteruser``/``masterauth`` (``CONFIG SET``) on Redis instances; ``sentinel-user``/``sentinel-pass``
  (``SENTINEL CONFIG SET``) and each monitor's ``auth-user``/``auth-pass`` (``SENTINEL SET``) on Sentinels. Sentinel
  does not tell a monitor's credentials, so they are read from the config file it names in ``INFO server`` and
  rewrites on every change.

Given the use phase's settings, the accept phase also reads them (nothing more is sent) and says whether the use phase
has anything to change (``use_pending``), so that a play skips the use phase's round trip when it has not.

A server that does not answer is skipped (it reads its files when it starts). Replies of a server that is loading
its data (``LOADING``) are asked again. Nothing is sent but reads in check mode.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.acl_user_changes import (
    RuleReader, user_changes, user_fields, user_lines)
from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import (
    AuthError, Connection, ReplyError, WireError)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import parse_states

LOADING_WAIT = 90.0
DEFAULT_BINARIES = {'redis': '/usr/bin/redis-server', 'sentinel': '/usr/bin/redis-sentinel'}
# option: (setting name, secret), per kind of server
SETTINGS = {
    'redis': (('masteruser', 'masteruser', False), ('masterauth', 'masterauth', True)),
    'sentinel': (('sentinel_user', 'sentinel-user', False), ('sentinel_pass', 'sentinel-pass', True)),
}
MONITOR_AUTH = (('auth_user', 'auth-user', False), ('auth_pass', 'auth-pass', True))


class CredentialError(Exception):
    """A server refused the login or a change; the message names the server and holds no secret."""


class Labels:
    """A stable label per distinct secret value, so that a diff shows which secret changed, never the secret."""

    def __init__(self, template):
        self.template = template
        self.seen = {}

    def __call__(self, value):
        if value is None or value == '':
            return '(none)'
        return self.seen.setdefault(value, self.template % (len(self.seen) + 1))


def validate(params):
    """Raise ValueError naming the option that does not fit the kind of server or the phase."""
    kind = params['kind']
    for other in [k for k in SETTINGS if k != kind]:
        for option, _setting, _secret in SETTINGS[other]:
            if params[option] is not None:
                raise ValueError('%s is a setting of kind=%s servers, not of kind=%s' % (option, other, kind))
    if kind == 'redis':
        for option in ('auth_user', 'auth_pass', 'shards'):
            if params[option] is not None:
                raise ValueError('%s is a setting of kind=sentinel servers, not of kind=redis' % option)
    if params['phase'] == 'accept' and params['users'] is None:
        raise ValueError('users is required in phase accept')
    if not params['login_passwords'] or not all(params['login_passwords']):
        raise ValueError('login_passwords: at least one password is required, and none may be empty')
    for index, user in enumerate(params['users'] or []):
        for digest in user['hashes']:
            if len(digest) != 64 or any(char not in '0123456789abcdef' for char in digest):
                raise ValueError('users[%d] (%s): hashes must be SHA-256 hex digests (lower case) of the passwords, as '
                                 'the shardinel.redis.acl_users filter gives them' % (index, user['name']))
    if params['timeout'] <= 0:
        raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])


def ask(connection, commands):
    """Every command's reply (errors in place), asked again while the server answers LOADING."""
    deadline = time.monotonic() + LOADING_WAIT
    while True:
        replies = connection.pipeline(commands)
        loading = any(isinstance(reply, ReplyError) and reply.code == 'LOADING' for reply in replies)
        if not loading or time.monotonic() > deadline:
            return replies
        time.sleep(0.5)


def read(connection, commands, what):
    """The replies of read-only commands; an error reply is a CredentialError naming the server and ``what``."""
    replies = ask(connection, commands)
    for reply in replies:
        if isinstance(reply, ReplyError):
            raise CredentialError('%s: could not read %s: %s' % (connection.label, what, reply))
    return replies


def log_in(address, params, tls):
    """(an open Connection, None), or (None, why) when the server does not answer. Each of login_passwords is tried."""
    for password in params['login_passwords']:
        connection = Connection(address, params['login_user'], password, tls, params['timeout'])
        try:
            connection.open()
        except AuthError:
            continue
        except WireError as error:
            return None, str(error)
        return connection, None
    raise CredentialError('%s refuses user %s with %s and its previous passwords'
                          % (format_address(address), params['login_user'], params['login_variable']))


class Plan:
    """What one server needs: [(what, command)], why each user differs, and the before/after lines of a diff."""

    def __init__(self, changes, reasons, before, after):
        self.changes = changes
        self.reasons = reasons
        self.before = before
        self.after = after


def accept_plan(connection, params, rules):
    users = params['users']
    replies = read(connection, [['ACL', 'USERS']] + [['ACL', 'GETUSER', user['name']] for user in users], 'its ACL users')
    held_names = replies[0]
    held = dict((user['name'], user_fields(reply)) for user, reply in zip(users, replies[1:]))
    if any(name not in held for name in held_names):
        extra = [name for name in held_names if name not in held]
        for name, reply in zip(extra, read(connection, [['ACL', 'GETUSER', name] for name in extra], 'its ACL users')):
            held[name] = user_fields(reply)
    wanted_fields = rules.fields(users)
    changes, reasons = user_changes(held_names, held, wanted_fields, users)
    if changes and params['kind'] == 'sentinel':
        changes.append(('config file', ['SENTINEL', 'FLUSHCONFIG']))
    before, after = user_lines(held_names, held, wanted_fields, users, Labels('p%d'))
    return Plan(changes, reasons, before, after)


def pairs(reply):
    """A CONFIG GET style reply (flat name/value list, or a map) as a dict."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[0::2], reply[1::2])) if isinstance(reply, list) else {}


def use_plan(connection, params):
    kind = params['kind']
    prefix = [] if kind == 'redis' else ['SENTINEL']
    wanted = [(setting, params[option], secret) for option, setting, secret in SETTINGS[kind] if params[option] is not None]
    held = {}
    for reply in read(connection, [prefix + ['CONFIG', 'GET', setting] for setting, _value, _secret in wanted], 'its settings'):
        held.update(pairs(reply))
    labels = Labels('(hidden %d)')
    changes, before, after = [], [], []
    for setting, value, secret in wanted:
        show = labels if secret else str
        before.append('%s: %s' % (setting, show(held.get(setting))))
        after.append('%s: %s' % (setting, show(value)))
        if held.get(setting) != value:
            changes.append((setting, prefix + ['CONFIG', 'SET', setting, value]))
    if kind == 'sentinel':
        monitor_changes(connection, params, labels, changes, before, after)
    return Plan(changes, {}, before, after)


def monitor_changes(connection, params, labels, changes, before, after):
    """Add the SENTINEL SET of each monitor whose auth-user/auth-pass differ from auth_user/auth_pass."""
    wanted = [(setting, params[option], secret) for option, setting, secret in MONITOR_AUTH if params[option] is not None]
    if not wanted:
        return
    masters, info = read(connection, [['SENTINEL', 'MASTERS'], ['INFO', 'server']], 'its monitors')
    names = [state['name'] for state in parse_states(masters)]
    if params['shards'] is not None:
        names = [name for name in names if name in params['shards']]
    held = monitor_credentials(config_file(connection.label, info)) if names else {}
    for name in sorted(names):
        options = []
        for setting, value, secret in wanted:
            show = labels if secret else str
            current = held.get(name, {}).get(setting)
            before.append('%s %s: %s' % (name, setting, show(current)))
            after.append('%s %s: %s' % (name, setting, show(value)))
            if current != value:
                options += [setting, value]
        if options:
            changes.append(('%s %s' % (name, '/'.join(options[0::2])), ['SENTINEL', 'SET', name] + options))


def config_file(label, info):
    for line in info.splitlines():
        if line.startswith('config_file:') and line.split(':', 1)[1].strip():
            return line.split(':', 1)[1].strip()
    raise CredentialError('%s: INFO server names no config file, where Sentinel keeps its monitors\' credentials' % label)


def monitor_credentials(path):
    """{monitor: {"auth-user": ..., "auth-pass": ...}} from a Sentinel's config file."""
    found = {}
    try:
        with open(path, encoding='utf-8', errors='surrogateescape') as handle:
            for line in handle:
                parts = line.rstrip('\r\n').split(' ', 3)
                if len(parts) == 4 and parts[0] == 'sentinel' and parts[1] in ('auth-user', 'auth-pass'):
                    found.setdefault(parts[2], {})[parts[1]] = config_value(parts[3])
    except OSError as error:
        raise CredentialError('could not read the Sentinel config file %s: %s' % (path, error.strerror or error))
    return found


ESCAPES = {'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'a': '\a'}


def config_value(text):
    """A value as Redis reads a config line's last word: double quotes with C escapes, single quotes, or bare."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("\\'", "'")
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        return text
    value, index, body = [], 0, text[1:-1]
    while index < len(body):
        char = body[index]
        if char == '\\' and index + 1 < len(body):
            following = body[index + 1]
            if following == 'x' and _is_hex(body[index + 2:index + 4]):
                value.append(chr(int(body[index + 2:index + 4], 16)))
                index += 4
                continue
            value.append(ESCAPES.get(following, following))
            index += 2
            continue
        value.append(char)
        index += 1
    return ''.join(value)


def _is_hex(pair):
    return len(pair) == 2 and all(char in '0123456789abcdefABCDEF' for char in pair)


def uses_settings(params):
    """Whether any setting of the use phase is given."""
    return any(params[option] is not None for option, _setting, _secret in SETTINGS[params['kind']] + MONITOR_AUTH)


def run_plan(connection, plan):
    replies = ask(connection, [command for _what, command in plan.changes])
    failed = [(what, reply) for (what, _command), reply in zip(plan.changes, replies) if isinstance(reply, ReplyError)]
    if failed:
        raise CredentialError('%s: could not change %s: %s' % (connection.label, ', '.join(what for what, _reply in failed),
                                                               failed[0][1]))


def apply_credentials(params, addresses, tls, check_mode):
    """The module's result: what changed (or would change) on each server, why for the users, the servers that did not
    answer, the warnings about them, and one diff per changed server."""
    result = dict(changed=False, changes={}, reasons={}, not_running=[], warnings=[], diff=[], use_pending=False)
    binary = params['server_binary'] or DEFAULT_BINARIES[params['kind']]
    rules = RuleReader(binary, params['kind'] == 'sentinel')
    try:
        for address in addresses:
            label = format_address(address)
            connection, why = log_in(address, params, tls)
            if connection is None:
                result['not_running'].append(label)
                result['warnings'].append('%s; skipped: it reads its files when it starts' % why)
                continue
            with connection:
                plan = accept_plan(connection, params, rules) if params['phase'] == 'accept' else use_plan(connection, params)
                if params['phase'] == 'accept' and uses_settings(params) and use_plan(connection, params).changes:
                    result['use_pending'] = True
                if plan.changes and not check_mode:
                    run_plan(connection, plan)
            if plan.reasons:
                result['reasons'][label] = plan.reasons
            if plan.changes:
                result['changed'] = True
                result['changes'][label] = [what for what, _command in plan.changes]
                result['diff'].append(dict(before_header='%s (held)' % label, after_header='%s (wanted)' % label,
                                           before=''.join(line + '\n' for line in plan.before),
                                           after=''.join(line + '\n' for line in plan.after)))
    except WireError as error:
        raise CredentialError(str(error))
    finally:
        rules.close()
    return result

# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the ACL users a server holds differ from the wanted ones, and the ACL commands that make them the same.

A wanted user is ``{name, enabled, nopass, hashes, rules}`` (the shardinel.redis.acl_users filter's entries). It is
compared with the server's ``ACL GETUSER`` by its on/off and nopass flags, its password hashes and its rules. The
server lists rules in its own normalized form, so the wanted rules are compared as the same engine normalizes them:
``RuleReader`` sets them on users of a throwaway server of the engine binary (scratch_server), never on a server
that runs. Rule fields are compared as sets of rules: Redis 7.0 lists subcommand rules (``-function|flush
-function|restore``) in another order after a restart than when they were set at runtime.
"""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import ReplyError
from ansible_collections.shardinel.redis.plugins.module_utils.scratch_server import ScratchServer

RULE_FIELDS = ('commands', 'keys', 'channels', 'selectors')


class RulesRefused(Exception):
    """The engine refused a user's rules; the message names the user."""


def user_fields(reply):
    """An ``ACL GETUSER`` reply (a flat list in RESP2) as a dict, its selectors as dicts too; None for no such user."""
    if not isinstance(reply, list):
        return None
    fields = dict(zip(reply[0::2], reply[1::2]))
    fields['selectors'] = [dict(zip(selector[0::2], selector[1::2])) for selector in fields.get('selectors') or []]
    return fields


def comparable(value):
    """A rule field as something equal for the same rules in any order."""
    if isinstance(value, str):
        return sorted(value.split())
    if isinstance(value, list):
        return sorted(repr(sorted((key, comparable(item)) for key, item in selector.items())) for selector in value)
    return value


class RuleReader:
    """The wanted rules as the engine reads them, from a throwaway server started on first use and kept until close()."""

    def __init__(self, binary, sentinel):
        self.binary = binary
        self.sentinel = sentinel
        self._server = None
        self._read = {}

    def fields(self, users):
        """{rules text: the rule fields of a user given exactly those rules}, for every user's rules."""
        unread = sorted(set(user['rules'] for user in users) - set(self._read))
        if unread:
            if self._server is None:
                self._server = ScratchServer(self.binary, self.sentinel)
                self._server.start()
            commands = []
            for index, rules in enumerate(unread):
                commands += [['ACL', 'SETUSER', 'rules-%d' % index, 'reset'] + rules.split(),
                             ['ACL', 'GETUSER', 'rules-%d' % index]]
            replies = self._server.connection.pipeline(commands)
            for index, rules in enumerate(unread):
                if isinstance(replies[2 * index], ReplyError):
                    names = ', '.join(user['name'] for user in users if user['rules'] == rules)
                    raise RulesRefused('users: the rules of %s are refused by %s: %s'
                                       % (names, self.binary, replies[2 * index]))
                self._read[rules] = user_fields(replies[2 * index + 1])
        return dict((user['rules'], self._read[user['rules']]) for user in users)

    def close(self):
        if self._server is not None:
            self._server.stop()
            self._server = None


def difference(held, wanted_fields, user):
    """Why the held user differs from the wanted one (no secret in it), or None."""
    if held is None:
        return 'not held'
    flags = held.get('flags') or []
    if ('on' in flags) != user['enabled'] or ('nopass' in flags) != user['nopass']:
        return 'flags %s' % ' '.join(flags)
    wanted_hashes = [] if user['nopass'] else user['hashes']
    if sorted(held.get('passwords') or []) != sorted(wanted_hashes):
        return 'passwords (%d held, %d wanted)' % (len(held.get('passwords') or []), len(wanted_hashes))
    for field in RULE_FIELDS:
        if comparable(held.get(field)) != comparable(wanted_fields.get(field)):
            return '%s: held %s, wanted %s' % (field, held.get(field), wanted_fields.get(field))
    return None


def setuser_command(user):
    secrets = ['nopass'] if user['nopass'] else ['#' + digest for digest in user['hashes']]
    return ['ACL', 'SETUSER', user['name'], 'reset', 'on' if user['enabled'] else 'off'] + secrets + user['rules'].split()


def user_changes(held_names, held, wanted_fields, users):
    """([(user name, ACL command)], {user name: why it differs}) that make the server hold exactly ``users``.

    ``held_names`` is the server's ``ACL USERS``, ``held`` {name: user_fields or None} for each wanted user."""
    changes, reasons = [], {}
    for user in users:
        why = difference(held[user['name']], wanted_fields[user['rules']], user)
        if why is not None:
            reasons[user['name']] = why
            changes.append((user['name'], setuser_command(user)))
    wanted = set(user['name'] for user in users)
    changes += [(name, ['ACL', 'DELUSER', name]) for name in held_names if name not in wanted]
    return changes, reasons


def user_lines(held_names, held, wanted_fields, users, labels):
    """(before, after): one line per user, held and wanted, for a diff; passwords as labels, never hashes."""
    before = [_line(name, held[name], labels) for name in held_names if held.get(name) is not None]
    after = []
    for user in sorted(users, key=lambda entry: entry['name']):
        fields = dict(wanted_fields[user['rules']])
        current = held.get(user['name'])
        if current is not None:
            for field in RULE_FIELDS:
                if comparable(current.get(field)) == comparable(fields.get(field)):
                    fields[field] = current.get(field)
        fields['flags'] = ['on' if user['enabled'] else 'off'] + (['nopass'] if user['nopass'] else [])
        fields['passwords'] = [] if user['nopass'] else user['hashes']
        after.append(_line(user['name'], fields, labels))
    return before, after


def _line(name, fields, labels):
    flags = fields.get('flags') or []
    words = ['user', name, 'on' if 'on' in flags else 'off']
    if 'nopass' in flags:
        words.append('nopass')
    else:
        words.append('passwords: %s' % (' '.join(labels(digest) for digest in fields.get('passwords') or []) or 'none'))
    for field in ('commands', 'keys', 'channels'):
        words.append('%s: "%s"' % (field, fields.get(field) or ''))
    if fields.get('selectors'):
        words.append('selectors: %s' % fields['selectors'])
    return ' '.join(words)

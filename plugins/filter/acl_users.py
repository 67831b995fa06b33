# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The acl_users filter: ACL users with their passwords as SHA-256 hashes and their ACL lines (documented in acl_users.yml)."""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleFilterError


def _entry(user):
    if not isinstance(user, dict) or not isinstance(user.get('name'), str) or not user['name']:
        raise AnsibleFilterError('acl_users: each user must be a dict with a non-empty name, got %r' % (user,))
    previous = user.get('previous_passwords') or []
    if not isinstance(previous, (list, tuple)):
        raise AnsibleFilterError('acl_users: the previous_passwords of user %s must be a list' % user['name'])
    passwords = ([user['password']] if user.get('password') is not None else []) + list(previous)
    if not all(isinstance(p, str) and p for p in passwords):
        raise AnsibleFilterError('acl_users: the passwords of user %s must be non-empty strings' % user['name'])
    rules = user.get('rules', '')
    if not isinstance(rules, str):
        raise AnsibleFilterError('acl_users: the rules of user %s must be a string' % user['name'])
    enabled, nopass = bool(user.get('enabled', True)), bool(user.get('nopass', False))
    hashes = [hashlib.sha256(password.encode('utf-8')).hexdigest() for password in passwords]
    words = [user['name'], 'on' if enabled else 'off'] + (['nopass'] if nopass else ['#' + digest for digest in hashes])
    return {'name': user['name'], 'enabled': enabled, 'nopass': nopass, 'hashes': hashes, 'rules': rules,
            'line': 'user ' + ' '.join(words + ([rules] if rules else []))}


def acl_users(users):
    """Each user {name, password, previous_passwords, rules, enabled (true), nopass (false)} as
    {name, enabled, nopass, hashes (the current password's first), rules, line}."""
    if not isinstance(users, (list, tuple)):
        raise AnsibleFilterError('acl_users: the input must be a list of users')
    return [_entry(user) for user in users]


class FilterModule:
    """shardinel.redis ACL filters."""

    def filters(self):
        return {'acl_users': acl_users}

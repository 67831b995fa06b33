# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shard instances a host has, found by their ``<name>.static.conf`` files, and what each holds (module
shardinel.redis.instances_info): how many keys in the applications' databases (every database but the layout's) and
the published shard layout (shardinel.layout).

An instance that refuses the connection is "not running"; any other failure to read one is an error, because an
instance that does not answer is not known to be empty.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import AuthError, Connection, ReplyError, WireError
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.layout import (
    LAYOUT_DB, LAYOUT_KEY, Layout, LayoutFormatError, newest)

STATIC_SUFFIX = '.static.conf'
LOADING_POLL = 0.1


class InstanceReadError(Exception):
    """An instance could not be read; the message names its shard and port, never a password."""


def static_files(config_dir):
    """{instance name: path of its static file}, sorted by name; empty when the directory does not exist."""
    try:
        names = os.listdir(config_dir)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise InstanceReadError('cannot list %s: %s' % (config_dir, error.strerror or error))
    found = {}
    for entry in sorted(names):
        path = os.path.join(config_dir, entry)
        if entry.endswith(STATIC_SUFFIX) and len(entry) > len(STATIC_SUFFIX) and os.path.isfile(path):
            found[entry[:-len(STATIC_SUFFIX)]] = path
    return found


def listening_port(path):
    """The port the instance serves: its tls-port when it has one, else its port (the last of each line wins, as in
    Redis)."""
    settings = {}
    try:
        with open(path, encoding='utf-8') as handle:
            for line in handle:
                words = line.split()
                if len(words) >= 2 and words[0].lower() in ('port', 'tls-port'):
                    settings[words[0].lower()] = words[1]
    except (OSError, UnicodeDecodeError) as error:
        raise InstanceReadError('cannot read %s: %s' % (path, getattr(error, 'strerror', None) or error))
    for option in ('tls-port', 'port'):
        value = settings.get(option, '0').strip('"\'')
        if value.isdigit() and 0 < int(value) < 65536:
            return int(value)
    raise InstanceReadError('%s names no port the instance listens on (port or tls-port)' % path)


def key_count(keyspace):
    """Keys over every database of an INFO keyspace reply but the layout's."""
    total = 0
    for line in str(keyspace).splitlines():
        database, _colon, fields = line.partition(':')
        if not database.startswith('db') or database == 'db%d' % LAYOUT_DB:
            continue
        for field in fields.split(','):
            name, _equals, value = field.partition('=')
            if name == 'keys' and value.strip().isdigit():
                total += int(value)
    return total


def ask_instance(address, username, password, tls, timeout):
    """[INFO keyspace, SELECT reply, the stored layout] from one login, sent again while the instance is loading."""
    deadline = time.monotonic() + timeout
    with Connection(address, username, password, tls, timeout) as connection:
        while True:
            replies = connection.pipeline([['INFO', 'keyspace'], ['SELECT', LAYOUT_DB], ['GET', LAYOUT_KEY]])
            errors = [reply for reply in replies if isinstance(reply, ReplyError)]
            if not errors:
                return replies
            if errors[0].code != 'LOADING' or time.monotonic() > deadline:
                raise errors[0]
            time.sleep(LOADING_POLL)


def read_instance(name, host, port, username, passwords, tls, timeout):
    """(One instance's entry: name, port, address, state, key_count, layout as a dict; the Layout or None)."""
    address = (host, port)
    entry = {'name': name, 'port': port, 'address': format_address(address), 'state': 'running', 'key_count': None,
             'layout': None}
    what = 'the instance of shard %s (port %d)' % (name, port)
    refused_logins = 0
    for password in passwords:
        try:
            keyspace, _selected, raw_layout = ask_instance(address, username, password, tls, timeout)
        except AuthError:
            refused_logins += 1
            continue
        except WireError as error:
            if isinstance(error.__context__, ConnectionRefusedError):
                entry['state'] = 'not running'
                return entry, None
            raise InstanceReadError('cannot read %s: %s' % (what, error))
        except ReplyError as error:
            raise InstanceReadError('cannot read %s: %s' % (what, error))
        entry['key_count'] = key_count(keyspace)
        if raw_layout is None:
            return entry, None
        try:
            layout = Layout.from_json(raw_layout)
        except LayoutFormatError as error:
            raise InstanceReadError('cannot read the published layout of %s: %s' % (what, error))
        entry['layout'] = json.loads(layout.to_json())
        return entry, layout
    raise InstanceReadError('cannot read %s: it refused user %s with each of the %d accepted password(s)'
                            % (what, username or 'default', refused_logins))


def read_host_instances(config_dir, host, username, passwords, tls, timeout):
    """{instances: [entry, ...], newest_layout: the layout with the highest version among them, or {}}."""
    reads = [read_instance(name, host, listening_port(path), username, passwords, tls, timeout)
             for name, path in static_files(config_dir).items()]
    best = newest(layout for _entry, layout in reads)
    return {'instances': [entry for entry, _layout in reads], 'newest_layout': json.loads(best.to_json()) if best else {}}

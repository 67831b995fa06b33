# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Sentinel and a shard's instances say right now, over redis_wire, for the host-side modules that wait on
a shard (instance_restart, topology_check).

- ``ShardWatch.agreed_master(states)``: the master every Sentinel names, none of them seeing it down.
- ``ShardWatch.in_sync_everywhere(...)``: every Sentinel lists an instance as a replica of that master, up, with its
  link ok (optionally from an INFO it sent after a given moment).
- ``wait_for(check, what, timeout)``: poll until ``check()`` returns something true.
- ``watch_argument_spec()`` / ``watch_from_params(params)``: the modules' options for it (the shared connection
  options' Sentinel and Redis users and TLS, without redis-py's timeouts) and the ShardWatch they describe.

Addresses are "host:port" text as ``addresses.format_address`` writes it; Sentinels are asked all at once. A refused
login (redis_wire.AuthError) is raised (or, asked for, kept as the answer), never taken for a server that does not
answer: waiting cannot mend a password.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    connection_argument_spec, tls_argument_spec, validate_tls_params, wire_tls)
from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import AuthError, Connection, ReplyError, WireError, ask_each
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address, parse_addresses
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import (
    is_down, parse_state, parse_states, state_address)

POLL = 0.1
QUERY_TIMEOUT = 3.0
WATCH_OPTIONS = ('sentinels', 'sentinel_username', 'sentinel_password', 'username', 'password')


class WatchError(Exception):
    """A wait ran out; the message says what for and what the servers said."""


def wait_for(check, what, timeout):
    """check()'s first true result, polling every POLL s; WatchError naming ``what`` (text or a callable giving it)
    once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WatchError('timed out after %gs waiting for %s' % (timeout, what() if callable(what) else what))
        time.sleep(POLL)


def watch_argument_spec():
    """The options naming the Sentinels, the Sentinel user, the Redis user and TLS, as the shared connection options
    define them."""
    shared = connection_argument_spec()
    spec = dict((name, shared[name]) for name in WATCH_OPTIONS)
    spec.update(tls_argument_spec())
    return spec


def watch_from_params(params):
    """The ShardWatch those options describe; ValueError naming the option that is wrong."""
    sentinels = parse_addresses(params['sentinels'], 'sentinels')
    validate_tls_params(params)
    return ShardWatch(sentinels, (params['sentinel_username'], params['sentinel_password']),
                      (params['username'], params['password']), wire_tls(params))


def problem_text(error):
    """A WireError or ReplyError as text for a report."""
    return str(error) or type(error).__name__


class ShardWatch:
    """The Sentinels (``sentinels``: (host, port) pairs) with their user, and the Redis instances with theirs."""

    def __init__(self, sentinels, sentinel_login, redis_login, tls=None, query_timeout=QUERY_TIMEOUT):
        self.sentinels = [format_address(address) for address in sentinels]
        self.sentinel_login = sentinel_login
        self.redis_login = redis_login
        self.tls = tls
        self.query_timeout = query_timeout

    # asking ---------------------------------------------------------------------------------------------------------
    def ask_sentinels(self, commands, keep_refusals=False):
        """{Sentinel: its replies (a list, error replies in place) or the WireError/ReplyError that stopped it}; a
        refused login is raised unless ``keep_refusals``."""
        return self._ask([parse_address(s) for s in self.sentinels], commands, self.sentinel_login, keep_refusals)

    def ask_instances(self, addresses, commands, keep_refusals=False):
        """{instance: its replies or the error that stopped it}, every instance at once; as ask_sentinels."""
        return self._ask([parse_address(a, 'address') for a in addresses], commands, self.redis_login, keep_refusals)

    def _ask(self, addresses, commands, login, keep_refusals):
        answers = ask_each(addresses, commands, login[0], login[1], self.tls, self.query_timeout)
        for outcome in answers.values():
            if isinstance(outcome, AuthError) and not keep_refusals:
                raise outcome
        return dict((format_address(address), replies) for address, replies in answers.items())

    def call_sentinel(self, sentinel, *command):
        """One command to one Sentinel; raises ReplyError or WireError."""
        username, password = self.sentinel_login
        with Connection(parse_address(sentinel), username, password, self.tls, self.query_timeout) as connection:
            return connection.call(*command)

    def call_instance(self, address, *command):
        """One command to one Redis instance; raises ReplyError or WireError."""
        username, password = self.redis_login
        with Connection(parse_address(address, 'address'), username, password, self.tls, self.query_timeout) as connection:
            return connection.call(*command)

    # Sentinel views -------------------------------------------------------------------------------------------------
    def master_states(self, shard):
        """{Sentinel: its SENTINEL MASTER state of the shard, or the error it gave}."""
        return dict((sentinel, read_reply(replies, 0, parse_state))
                    for sentinel, replies in self.ask_sentinels([['SENTINEL', 'MASTER', shard]]).items())

    def replica_states(self, shard):
        """{Sentinel: {replica: its SENTINEL REPLICAS entry}, or the error it gave}."""
        return dict((sentinel, read_reply(replies, 0, replicas_by_address))
                    for sentinel, replies in self.ask_sentinels([['SENTINEL', 'REPLICAS', shard]]).items())

    def agreed_master(self, states):
        """The master every Sentinel names in ``states`` (from master_states), none of them seeing it down; or None."""
        views = [state for state in states.values() if not isinstance(state, Exception)]
        if len(views) != len(self.sentinels) or any(is_down(state) for state in views):
            return None
        named = set(state_address(state) for state in views)
        return named.pop() if len(named) == 1 else None

    def in_sync_everywhere(self, replica_states, address, master, since=None):
        """Every Sentinel lists ``address`` as a replica of ``master``, up, its link ok; with ``since`` (a
        time.monotonic() moment) also from an INFO the replica sent after it (Sentinel asks replicas every 10 s)."""
        if len(replica_states) != len(self.sentinels):
            return False
        for replicas in replica_states.values():
            entry = None if isinstance(replicas, Exception) else replicas.get(address)
            if entry is None or is_down(entry) or entry.get('role-reported') != 'slave' \
                    or entry.get('master-link-status') != 'ok' or replica_master(entry) != master:
                return False
            if since is not None and int(entry.get('info-refresh', 10 ** 9)) / 1000.0 > time.monotonic() - since:
                return False
        return True

    # instances ------------------------------------------------------------------------------------------------------
    def role(self, address):
        """ROLE of an instance as a list, or [] when it does not answer it."""
        try:
            reply = self.call_instance(address, 'ROLE')
        except AuthError:
            raise
        except (WireError, ReplyError):
            return []
        return reply if isinstance(reply, list) else []

    def info(self, address, *sections):
        """INFO of the sections as {field: text}; {} when the instance does not answer it."""
        try:
            return parse_info(self.call_instance(address, 'INFO', *sections))
        except AuthError:
            raise
        except (WireError, ReplyError):
            return {}

    def connected_replica_of(self, address, master):
        """The instance reports ROLE slave of ``master`` with its link connected."""
        return is_connected_replica(self.role(address), master)

    def describe(self, states):
        """What each Sentinel says of the shard's master (from master_states), for messages."""
        parts = []
        for sentinel in self.sentinels:
            state = states.get(sentinel)
            if state is None:
                parts.append('%s: no answer' % sentinel)
            elif isinstance(state, Exception):
                parts.append('%s: %s' % (sentinel, problem_text(state)))
            else:
                parts.append('%s names %s (%s)' % (sentinel, state_address(state), ','.join(state['flags'])))
        return '; '.join(parts)


def read_reply(replies, index, parse):
    """parse(replies[index]), or the error that stands for it (the connection's or the command's)."""
    if isinstance(replies, Exception):
        return replies
    reply = replies[index]
    return reply if isinstance(reply, Exception) else parse(reply)


def replicas_by_address(reply):
    return dict((state_address(state), state) for state in parse_states(reply) if 'ip' in state and 'port' in state)


def replica_master(entry):
    """The master a SENTINEL REPLICAS entry says the replica replicates from, as "host:port" (None if unknown)."""
    try:
        return format_address((str(entry['master-host']), int(entry['master-port'])))
    except (KeyError, TypeError, ValueError):
        return None


def is_connected_replica(role, master):
    """A ROLE reply (or the error in its place) says: replica of ``master`` ("host:port"), link connected."""
    if not isinstance(role, list) or len(role) < 4 or role[0] != 'slave':
        return False
    try:
        return format_address((str(role[1]), int(role[2]))) == master and role[3] == 'connected'
    except (TypeError, ValueError):
        return False


def parse_info(text):
    """An INFO reply as {field: value text}."""
    fields = {}
    for line in str(text or '').splitlines():
        if ':' in line and not line.startswith('#'):
            key, value = line.split(':', 1)
            fields[key] = value.strip()
    return fields

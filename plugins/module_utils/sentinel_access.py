# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw Sentinel and Redis access for the modules, with errors that name what failed.

SENTINEL replies are parsed here rather than by redis-py's response callbacks, whose
shapes differ between redis-py releases and protocols.
"""

from __future__ import annotations

import traceback

from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address

try:
    import redis
    from redis import exceptions as redis_errors
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError:
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None

_INT_FIELDS = frozenset((
    'port', 'master-port', 'quorum', 'num-slaves', 'num-other-sentinels', 'config-epoch',
    'down-after-milliseconds', 'failover-timeout', 'parallel-syncs', 'master-link-down-time',
    'slave-repl-offset', 'slave-priority', 'replica-priority', 'info-refresh', 'last-ok-ping-reply',
    'last-ping-reply', 'role-reported-time', 's-down-time', 'o-down-time',
))
DOWN_FLAGS = frozenset(('s_down', 'o_down', 'disconnected'))


class ShardinelError(Exception):
    """A failure whose message is safe to show: it names what failed and holds no secret."""


def describe_error(error):
    """One line describing a redis-py error (redis-py never puts passwords in its messages)."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


class Endpoint:
    """A Sentinel or Redis instance reached with one set of credentials.

    ``label`` names it in messages, for example "Sentinel 10.0.0.1:26379".
    """

    def __init__(self, host, port, label, username, password, kwargs):
        self.host = host
        self.port = int(port)
        self.label = label
        self.username = username
        self.client = redis.Redis(host=host, port=self.port, username=username, password=password,
                                  retry=Retry(NoBackoff(), 1), **kwargs)

    @property
    def address(self):
        return format_address((self.host, self.port))

    def close(self):
        self.client.close()

    def call(self, *args):
        """Run one command; translate redis-py errors into ShardinelError naming the endpoint."""
        command = ' '.join(str(a) for a in args[:2]).upper()
        try:
            return self.client.execute_command(*args)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ResponseError) as error:
            raise ShardinelError(self._explain(error, command))

    def _explain(self, error, command):
        """Name the endpoint, the user and what went wrong (older redis-py raise WRONGPASS/NOPERM as ResponseError)."""
        text = describe_error(error)
        user = self.username or 'default'
        if isinstance(error, redis_errors.AuthenticationError) or text.startswith(('WRONGPASS', 'NOAUTH', 'invalid password')):
            return '%s refused the credentials of user %r: %s' % (self.label, user, text)
        if text.startswith('NOPERM') or 'no permissions' in text:
            return '%s: user %r may not run %s: %s' % (self.label, user, command, text)
        if isinstance(error, (redis_errors.ConnectionError, redis_errors.TimeoutError)):
            return '%s is unreachable: %s' % (self.label, text)
        return '%s answered %s with an error: %s' % (self.label, command, text)

    def sentinel(self, *args):
        return self.call('SENTINEL', *args)

    def states(self, *args):
        """A SENTINEL subcommand that replies with a list of states (MASTERS, REPLICAS, SENTINELS)."""
        return [parse_state(item) for item in self.sentinel(*args)]

    def master_address(self, shard):
        reply = self.sentinel('GET-MASTER-ADDR-BY-NAME', shard)
        return format_address((reply[0], int(reply[1]))) if reply else None

    def role(self):
        """ROLE as a dict: role, and for a replica master (address) and link state."""
        reply = self.call('ROLE')
        role = {'master': 'master', 'slave': 'replica', 'sentinel': 'sentinel'}.get(reply[0], reply[0])
        result = dict(role=role)
        if role == 'master':
            result['offset'] = int(reply[1])
            result['replicas'] = [dict(address=format_address((r[0], int(r[1]))), offset=int(r[2])) for r in reply[2]]
        elif role == 'replica':
            result['master'] = format_address((reply[1], int(reply[2])))
            result['link'] = reply[3]
            result['offset'] = int(reply[4])
        return result


def parse_state(reply):
    """Turn a SENTINEL state reply (a RESP3 map or a flat RESP2 list) into a dict; 'flags' becomes a sorted list."""
    if isinstance(reply, dict):
        pairs = reply.items()
    else:
        items = list(reply)
        pairs = zip(items[0::2], items[1::2])
    state = {}
    for key, value in pairs:
        state[key] = int(value) if key in _INT_FIELDS and str(value).lstrip('-').isdigit() else value
    state['flags'] = sorted(f for f in str(state.get('flags', '')).split(',') if f)
    return state


def state_address(state):
    return format_address((state['ip'], int(state['port'])))


def is_down(state):
    return bool(DOWN_FLAGS.intersection(state['flags']))

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
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import parse_states

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
        return parse_states(self.sentinel(*args))

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

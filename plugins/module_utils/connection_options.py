# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every shardinel.redis module.

The documentation of these options is in the doc fragments shardinel.redis.sentinels, shardinel.redis.connection and
shardinel.redis.tls; keep them in step.
"""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import TlsFiles
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_addresses


def sentinel_argument_spec():
    """Return the argument spec of the Sentinels and their user (doc fragment shardinel.redis.sentinels)."""
    return dict(
        sentinels=dict(type='list', elements='str', required=True),
        sentinel_username=dict(type='str'),
        sentinel_password=dict(type='str', no_log=True),
    )


def connection_argument_spec():
    """Return the argument spec of the shared connection options."""
    return dict(
        sentinel_argument_spec(),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        connect_timeout=dict(type='float', default=2.0),
        socket_timeout=dict(type='float', default=5.0),
        **tls_argument_spec()
    )


def tls_argument_spec():
    """Return the argument spec of the TLS options (doc fragment shardinel.redis.tls)."""
    return dict(
        tls=dict(type='bool', default=False),
        tls_ca_file=dict(type='path'),
        tls_cert_file=dict(type='path'),
        tls_key_file=dict(type='path'),
        tls_verify=dict(type='bool', default=True),
        tls_check_hostname=dict(type='bool', default=False),
    )


def sentinel_admin_argument_spec():
    """Return the argument spec of the Sentinel admin user options (doc fragment shardinel.redis.sentinel_admin)."""
    return dict(
        sentinel_admin_username=dict(type='str'),
        sentinel_admin_password=dict(type='str', no_log=True),
    )


def validate_connection_params(params):
    """Check the shared options; return the Sentinel addresses as (host, port) tuples.

    Raises ValueError with a message naming the offending option.
    """
    addresses = parse_addresses(params['sentinels'] or [], 'sentinels')
    for option in ('connect_timeout', 'socket_timeout'):
        if params[option] is None or params[option] <= 0:
            raise ValueError('%s: must be a positive number of seconds, got %r' % (option, params[option]))
    for user, secret in (('sentinel_username', 'sentinel_password'), ('username', 'password')):
        if params[user] and not params[secret]:
            raise ValueError('%s is set but %s is empty' % (user, secret))
    validate_tls_params(params)
    return addresses


def validate_tls_params(params):
    """Raise ValueError naming the TLS option that contradicts the others."""
    if not params['tls']:
        for option in ('tls_ca_file', 'tls_cert_file', 'tls_key_file'):
            if params[option]:
                raise ValueError('%s is set but tls is false' % option)
    if bool(params['tls_cert_file']) != bool(params['tls_key_file']):
        raise ValueError('tls_cert_file and tls_key_file must be given together')
    if params['tls'] and params['tls_check_hostname'] and not params['tls_verify']:
        raise ValueError('tls_check_hostname needs tls_verify: a certificate that is not verified has no name to check')


def tls_kwargs(params):
    """redis-py TLS keyword arguments (empty without tls)."""
    if not params['tls']:
        return {}
    return dict(
        ssl=True,
        ssl_ca_certs=params['tls_ca_file'],
        ssl_certfile=params['tls_cert_file'],
        ssl_keyfile=params['tls_key_file'],
        ssl_cert_reqs='required' if params['tls_verify'] else 'none',
        ssl_check_hostname=params['tls_check_hostname'],
    )


def wire_tls(params):
    """The TLS settings of the host-side modules' redis_wire connections (None without tls)."""
    if not params['tls']:
        return None
    return TlsFiles(params['tls_ca_file'], params['tls_cert_file'], params['tls_key_file'], params['tls_verify'],
                    params['tls_check_hostname'])


def redis_kwargs(params):
    """Keyword arguments for redis-py connections to the Redis instances (no credentials)."""
    kwargs = dict(
        socket_connect_timeout=params['connect_timeout'],
        socket_timeout=params['socket_timeout'],
        decode_responses=True,
    )
    kwargs.update(tls_kwargs(params))
    return kwargs


def redis_credentials(params):
    """Username/password keyword arguments for the Redis ACL user."""
    return dict(username=params['username'], password=params['password'])


def sentinel_credentials(params):
    """Username/password keyword arguments for the Sentinel ACL user."""
    return dict(username=params['sentinel_username'], password=params['sentinel_password'])


def validate_sentinel_admin_params(params):
    """Raise ValueError when the Sentinel admin user is named without a password."""
    if params['sentinel_admin_username'] and not params['sentinel_admin_password']:
        raise ValueError('sentinel_admin_username is set but sentinel_admin_password is empty')


def sentinel_admin_credentials(params):
    """The Sentinel admin user if given, else the discovery user (sentinel_username)."""
    if params['sentinel_admin_username'] or params['sentinel_admin_password']:
        return dict(username=params['sentinel_admin_username'], password=params['sentinel_admin_password'])
    return sentinel_credentials(params)


def secrets_of(params):
    """Every secret value among the params, so messages can be scrubbed of them."""
    return [value for key, value in params.items() if key.endswith('password') and value]


def scrub(message, secrets):
    """Replace any secret that appears in message."""
    text = str(message)
    for secret in secrets:
        text = text.replace(secret, '********')
    return text

"""ShardedSentinelClient.from_url: the URL form for Sentinel addresses and ACL users (no I/O here).

    redis+sentinel://[username[:password]@]host:port[,host:port...][/db][?argument=value&...]
    rediss+sentinel://...   the same with TLS (ssl=True) for Redis and the Sentinels

The user and password are the Redis ACL user's (percent-encoded); the Sentinels' own user goes in the
query as ``sentinel_username`` and ``sentinel_password``. IPv6 hosts are written "[address]:port". Query
arguments: the client's own (``service_names`` comma-separated, ``read_from_replicas``,
``failover_timeout``, ``sentinel_socket_timeout``, ``follow_switch_events``, ``durable_writes``,
``durable_timeout``) and redis-py's connection arguments (``socket_timeout``, ``decode_responses``,
``protocol``, ``ssl_ca_certs``, ...). An unknown argument raises ValueError naming it.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

from .addresses import parse_addresses

SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _boolean(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected one of {', '.join(TRUE_WORDS + FALSE_WORDS)}")


def _names(value: str) -> list[str]:
    return [name for name in (part.strip() for part in value.split(",")) if name]


def _text(value: str) -> str:
    return value


PARSERS: dict[str, Callable[[str], Any]] = {
    # the client's own arguments
    "service_names": _names, "read_from_replicas": _boolean, "failover_timeout": float,
    "sentinel_socket_timeout": float, "follow_switch_events": _boolean, "durable_writes": int,
    "durable_timeout": float, "sentinel_username": _text, "sentinel_password": _text,
    # redis-py's connection arguments
    "db": int, "socket_timeout": float, "socket_connect_timeout": float, "socket_keepalive": _boolean,
    "socket_read_size": int, "retry_on_timeout": _boolean, "max_connections": int, "health_check_interval": int,
    "protocol": int, "decode_responses": _boolean, "encoding": _text, "encoding_errors": _text, "client_name": _text,
    "ssl": _boolean, "ssl_ca_certs": _text, "ssl_ca_path": _text, "ssl_certfile": _text, "ssl_keyfile": _text,
    "ssl_cert_reqs": _text, "ssl_check_hostname": _boolean, "ssl_min_version": int,
}


def parse_client_url(url: str) -> tuple[list[str], dict[str, Any]]:
    """The Sentinel addresses and the keyword arguments of ShardedSentinelClient that ``url`` describes."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in SCHEMES:
        raise ValueError(f"from_url: the URL must start with {' or '.join(f'{s}://' for s in SCHEMES)} "
                         "(Sentinel addresses, not a Redis server's)")
    location, _question, query = rest.partition("?")
    netloc, _slash, path = location.partition("/")
    kwargs: dict[str, Any] = {}
    if SCHEMES[scheme.lower()]:
        kwargs["ssl"] = True
    userinfo, at, hosts = netloc.rpartition("@")
    if at:
        username, colon, password = userinfo.partition(":")
        if username:
            kwargs["username"] = unquote(username)
        if colon:
            kwargs["password"] = unquote(password)
    addresses = [host for host in hosts.split(",") if host]
    parse_addresses(addresses, "from_url")
    if path.strip("/"):
        try:
            kwargs["db"] = int(path.strip("/"))
        except ValueError:
            raise ValueError(f"from_url: the path must be a database number, got {path!r}") from None
    for name, value in parse_qsl(query, keep_blank_values=True):
        parser = PARSERS.get(name)
        if parser is None:
            raise ValueError(f"from_url: unknown query argument {name!r}; known: {', '.join(sorted(PARSERS))}")
        try:
            kwargs[name] = parser(value)
        except ValueError as exc:
            raise ValueError(f"from_url: {name}={value!r}: {exc}") from None
    return addresses, kwargs

"""The client's constructor arguments, checked once for the sync and the asyncio client (no I/O here).

Every mistake raises ValueError naming the argument, before any connection is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from .addresses import Address, AddressLike, parse_addresses
from .durability import DurableWrites
from .tls_settings import check_tls_kwargs, sentinel_kwargs_with_tls

FORBIDDEN_REDIS_KWARGS = ("host", "port", "unix_socket_path", "connection_pool", "single_connection_client")


@dataclass
class ClientSettings:  # pylint: disable=too-many-instance-attributes
    """What a client was built with. ``redis_kwargs`` are redis-py's connection arguments for every Redis
    connection, the Redis ACL user's ``username`` and ``password`` included (a shell adds its ``retry``);
    ``sentinel_kwargs`` those of the Sentinel connections beyond their user, TLS settings inherited."""

    addresses: list[Address]
    service_names: Optional[list[str]]
    username: Optional[str]
    password: Optional[str]
    sentinel_username: Optional[str]
    sentinel_password: Optional[str]
    read_from_replicas: bool
    failover_timeout: float
    sentinel_socket_timeout: float
    sentinel_kwargs: dict[str, Any]
    follow_switch_events: bool
    durable: Optional[DurableWrites]
    redis_kwargs: dict[str, Any]

    @property
    def db(self) -> int:
        return int(self.redis_kwargs.get("db") or 0)

    @property
    def socket_timeout(self) -> float:
        """The Redis socket timeout, 5 s when none is set (MIGRATE's timeout while keys move)."""
        return float(self.redis_kwargs.get("socket_timeout") or 5.0)


def client_settings(  # pylint: disable=too-many-arguments
    sentinels: Iterable[AddressLike],
    service_names: Optional[Sequence[str]],
    username: Optional[str],
    password: Optional[str],
    sentinel_username: Optional[str],
    sentinel_password: Optional[str],
    read_from_replicas: bool,
    failover_timeout: float,
    sentinel_socket_timeout: float,
    sentinel_kwargs: Optional[dict[str, Any]],
    follow_switch_events: bool,
    durable_writes: int,
    durable_timeout: float,
    redis_kwargs: dict[str, Any],
) -> ClientSettings:
    """The checked settings; ValueError naming the argument for anything wrong."""
    addresses = parse_addresses(sentinels)
    names = _check_names_and_timeouts(service_names, failover_timeout, sentinel_socket_timeout, redis_kwargs)
    check_tls_kwargs(redis_kwargs, "redis_kwargs")
    durable = _check_durability(durable_writes, durable_timeout, redis_kwargs)
    return ClientSettings(addresses, names, username, password, sentinel_username, sentinel_password,
                          bool(read_from_replicas), float(failover_timeout), float(sentinel_socket_timeout),
                          sentinel_kwargs_with_tls(sentinel_kwargs, redis_kwargs), bool(follow_switch_events), durable,
                          dict(redis_kwargs, username=username, password=password))


def _check_names_and_timeouts(service_names: Optional[Sequence[str]], failover_timeout: float,
                              sentinel_socket_timeout: float, redis_kwargs: dict[str, Any]) -> Optional[list[str]]:
    for key in FORBIDDEN_REDIS_KWARGS:
        if key in redis_kwargs:
            raise ValueError(f"redis_kwargs: {key!r} cannot be set; Sentinel decides where each shard's master is")
    for label, value in (("failover_timeout", failover_timeout), ("sentinel_socket_timeout", sentinel_socket_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
    if service_names is None:
        return None
    if isinstance(service_names, str) or not all(isinstance(n, str) and n for n in service_names):
        raise ValueError(f"service_names must be a list of non-empty names, got {service_names!r}")
    if not service_names:
        raise ValueError("service_names must not be empty (use None for every monitored master)")
    return sorted(set(service_names))


def _check_durability(durable_writes: int, durable_timeout: float, redis_kwargs: dict[str, Any]) -> Optional[DurableWrites]:
    if isinstance(durable_writes, bool) or not isinstance(durable_writes, int) or durable_writes < 0:
        raise ValueError(f"durable_writes must be a non-negative whole number of replicas, got {durable_writes!r}")
    if isinstance(durable_timeout, bool) or not isinstance(durable_timeout, (int, float)) or not durable_timeout > 0:
        raise ValueError(f"durable_timeout must be a positive number of seconds, got {durable_timeout!r}")
    if not durable_writes:
        return None
    socket_timeout = redis_kwargs.get("socket_timeout")
    if socket_timeout is not None and socket_timeout <= durable_timeout:
        raise ValueError(f"durable_timeout ({durable_timeout!r} s) must be shorter than socket_timeout "
                         f"({socket_timeout!r} s): WAIT blocks for up to durable_timeout")
    return DurableWrites(durable_writes, float(durable_timeout))


def replica_shortage(required: int, counts: dict[str, int]) -> Optional[ValueError]:
    """The error for durable_writes above the replicas the Sentinels know for some shard, or None."""
    short = [f"{name!r} ({count})" for name, count in counts.items() if count < required]
    if not short:
        return None
    return ValueError(f"durable_writes={required} is more than the replicas the Sentinels know for shard"
                      f"{'s' if len(short) > 1 else ''} {', '.join(short)}")

"""Settings -> ClientSettings: the Sentinel addresses and the client options, checked before any connection.

Every error is an ImproperlyConfigured that names the setting, for example
``CACHES['default']['OPTIONS']['SOCKET_TIMEOUT'] must be a positive number of seconds, got 0``.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import redis
from django.core.exceptions import ImproperlyConfigured
from shardinel.addresses import Address, parse_addresses
from shardinel.client import FORBIDDEN_REDIS_KWARGS, ShardedSentinelClient
from shardinel.tls_settings import ignored_tls_keys

CREDENTIALS = ("USERNAME", "PASSWORD", "SENTINEL_USERNAME", "SENTINEL_PASSWORD")
POSITIVE_SECONDS = ("FAILOVER_TIMEOUT", "SENTINEL_SOCKET_TIMEOUT", "DURABLE_TIMEOUT")
OPTIONAL_SECONDS = ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT")
CLIENT_OPTIONS = frozenset(CREDENTIALS + POSITIVE_SECONDS + OPTIONAL_SECONDS + (
    "SERVICE_NAMES", "READ_FROM_REPLICAS", "DB", "DURABLE_WRITES", "CLIENT_KWARGS", "SENTINEL_KWARGS"))
REDIS_KWARGS = frozenset(inspect.signature(redis.Redis.__init__).parameters) - {"self"}
NOT_SETTABLE = frozenset(FORBIDDEN_REDIS_KWARGS) | {"decode_responses", "username", "password", "db", "retry"}
CLIENT_PARAMETERS = frozenset(inspect.signature(ShardedSentinelClient.__init__).parameters)

Label = Callable[[str], str]


@dataclass(frozen=True, eq=False)
class ClientSettings:
    """What one ShardedSentinelClient is built from; settings with equal ``key`` share one client per process."""

    sentinels: tuple[Address, ...]
    service_names: Optional[tuple[str, ...]] = None
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    sentinel_username: Optional[str] = None
    sentinel_password: Optional[str] = field(default=None, repr=False)
    read_from_replicas: bool = False
    client_options: tuple[tuple[str, Any], ...] = ()
    redis_kwargs: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    sentinel_kwargs: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    label: Label = field(default=str, repr=False)
    where: str = ""

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.sentinels, self.service_names, self.username, self.password, self.sentinel_username,
                self.sentinel_password, self.read_from_replicas, self.client_options,
                _hashable(self.redis_kwargs), _hashable(self.sentinel_kwargs))

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(self.client_options)
        kwargs.update(self.redis_kwargs)
        kwargs.update(
            service_names=list(self.service_names) if self.service_names is not None else None,
            username=self.username, password=self.password,
            sentinel_username=self.sentinel_username, sentinel_password=self.sentinel_password,
            read_from_replicas=self.read_from_replicas,
        )
        if self.sentinel_kwargs:
            kwargs["sentinel_kwargs"] = dict(self.sentinel_kwargs)
        return kwargs


def parse_location(location: Any, setting: str) -> tuple[Address, ...]:
    """Sentinel addresses from a list of "host:port" strings or (host, port) pairs, or a comma-separated string."""
    if isinstance(location, str):
        items: list[Any] = [part for part in re.split(r"[,;\s]+", location) if part]
    elif isinstance(location, (list, tuple)):
        is_pair = len(location) == 2 and isinstance(location[0], str) and isinstance(location[1], int)
        items = [location] if is_pair else list(location)
    elif location is None:
        items = []
    else:
        raise ImproperlyConfigured(f"{setting}: expected a list of Sentinel \"host:port\" addresses, got {location!r}")
    if not items:
        raise ImproperlyConfigured(f"{setting} is empty: give the Sentinel \"host:port\" addresses")
    for item in items:
        if isinstance(item, str) and "://" in item:
            raise ImproperlyConfigured(f"{setting}: {item!r} is a URL; give the Sentinels' \"host:port\" addresses "
                                       "(the shards are the masters they monitor)")
    try:
        return tuple(parse_addresses(items, argument=setting))
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def option_label(setting: str) -> Label:
    return lambda name: f"{setting}[{name!r}]"


def parse_client_settings(location: Any, location_setting: str, options: Any, options_setting: str,
                          label: Optional[Label] = None, allowed_extra: frozenset[str] = frozenset(),
                          strict: bool = True) -> ClientSettings:
    """ClientSettings from LOCATION and OPTIONS; with strict, an option that is neither ours nor allowed_extra is an error.

    ``label(name)`` names the setting of option ``name`` in errors (default: options_setting['NAME']).
    """
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{options_setting} must be a dict, got {type(options).__name__}")
    label = label or option_label(options_setting)
    sentinels = parse_location(location, location_setting)
    if strict:
        unknown = sorted(name for name in options if name not in CLIENT_OPTIONS | allowed_extra and not _is_tls(name))
        if unknown:
            known = ", ".join(sorted(CLIENT_OPTIONS | allowed_extra) + ["SSL", "SSL_*", "SENTINEL_SSL", "SENTINEL_SSL_*"])
            raise ImproperlyConfigured(f"{label(unknown[0])}: unknown option; known options are {known}")
    for name in CREDENTIALS:
        value = options.get(name)
        if value is not None and not isinstance(value, str):
            raise ImproperlyConfigured(f"{label(name)} must be a string, got {type(value).__name__}")
    client_options: dict[str, Any] = {}
    for name in POSITIVE_SECONDS:
        if options.get(name) is not None:
            client_options[name.lower()] = _seconds(options[name], label(name))
    durable = options.get("DURABLE_WRITES")
    if durable is not None:
        if "durable_writes" not in CLIENT_PARAMETERS:
            raise ImproperlyConfigured(f"{label('DURABLE_WRITES')}: this shardinel client has no durable_writes")
        if isinstance(durable, bool) or not isinstance(durable, int) or durable < 0:
            raise ImproperlyConfigured(f"{label('DURABLE_WRITES')} must be a whole number of replicas >= 0, got {durable!r}")
        client_options["durable_writes"] = durable
    redis_kwargs = _kwargs(options.get("CLIENT_KWARGS"), label("CLIENT_KWARGS"))
    for name in OPTIONAL_SECONDS:
        if options.get(name) is not None:
            redis_kwargs[name.lower()] = _seconds(options[name], label(name))
    db = options.get("DB")
    if db is not None:
        if isinstance(db, bool) or not isinstance(db, int) or db < 0:
            raise ImproperlyConfigured(f"{label('DB')} must be a database number >= 0, got {db!r}")
        redis_kwargs["db"] = db
    sentinel_kwargs = _kwargs(options.get("SENTINEL_KWARGS"), label("SENTINEL_KWARGS"))
    for name, value in options.items():
        if _is_tls(name):
            target = sentinel_kwargs if name.startswith("SENTINEL_") else redis_kwargs
            key = name.lower().removeprefix("sentinel_")
            if key not in REDIS_KWARGS:
                raise ImproperlyConfigured(f"{label(name)}: redis-py has no TLS setting {key!r}")
            target[key] = value
    _check_tls(redis_kwargs, sentinel_kwargs, label)
    read_from_replicas = options.get("READ_FROM_REPLICAS", False)
    if not isinstance(read_from_replicas, bool):
        raise ImproperlyConfigured(f"{label('READ_FROM_REPLICAS')} must be True or False, got {read_from_replicas!r}")
    return ClientSettings(
        sentinels=sentinels,
        service_names=_service_names(options.get("SERVICE_NAMES"), label("SERVICE_NAMES")),
        username=options.get("USERNAME"), password=options.get("PASSWORD"),
        sentinel_username=options.get("SENTINEL_USERNAME"), sentinel_password=options.get("SENTINEL_PASSWORD"),
        read_from_replicas=read_from_replicas,
        client_options=tuple(sorted(client_options.items())),
        redis_kwargs=tuple(sorted(redis_kwargs.items(), key=lambda item: item[0])),
        sentinel_kwargs=tuple(sorted(sentinel_kwargs.items(), key=lambda item: item[0])),
        label=label,
        where=options_setting,
    )


def _is_tls(name: str) -> bool:
    return re.fullmatch(r"(SENTINEL_)?SSL(_[A-Z_]+)?", name) is not None


def _check_tls(redis_kwargs: dict[str, Any], sentinel_kwargs: dict[str, Any], label: Label) -> None:
    """SSL_* (or SENTINEL_SSL_*) settings with TLS off are an error; the Sentinels take each TLS setting they lack from SSL_*."""
    for kwargs, prefix, inherited in ((redis_kwargs, "", False), (sentinel_kwargs, "SENTINEL_", bool(redis_kwargs.get("ssl")))):
        ignored = ignored_tls_keys(kwargs, inherited)
        if ignored:
            raise ImproperlyConfigured(f"{label(prefix + 'SSL')} is not True, so {', '.join(ignored)} would be ignored "
                                       f"and the connections would not use TLS; set {label(prefix + 'SSL')} to True or "
                                       "remove them")


def _seconds(value: Any, setting: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ImproperlyConfigured(f"{setting} must be a positive number of seconds, got {value!r}")
    return float(value)


def _kwargs(value: Any, setting: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{setting} must be a dict of redis-py keyword arguments, got {type(value).__name__}")
    for key in value:
        if key in NOT_SETTABLE:
            raise ImproperlyConfigured(f"{setting}[{key!r}] cannot be set here: Sentinel finds the servers, and the "
                                       "credentials, DB and decoding have their own options")
        if key not in REDIS_KWARGS:
            raise ImproperlyConfigured(f"{setting}[{key!r}]: redis-py's Redis takes no such argument")
    return dict(value)


def _hashable(value: Any) -> Any:
    """A hashable stand-in for a settings value: dicts and lists by content, anything else unhashable by identity."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


def _service_names(value: Any, setting: str) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    names = [part for part in re.split(r"[,\s]+", value) if part] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
        raise ImproperlyConfigured(f"{setting} must be a non-empty list of Sentinel service names, got {value!r}")
    return tuple(sorted(set(names)))

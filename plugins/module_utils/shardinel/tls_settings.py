"""redis-py's TLS keyword arguments (``ssl`` and ``ssl_*``): checks, and the Sentinels' defaults taken from Redis's."""

from __future__ import annotations

from typing import Any, Mapping, Optional


def is_tls_key(key: str) -> bool:
    return key == "ssl" or key.startswith("ssl_")


def ignored_tls_keys(kwargs: Mapping[str, Any], inherited_ssl: bool = False) -> list[str]:
    """The ssl_* settings given (not None) while ``ssl`` is off, which redis-py would ignore."""
    if kwargs.get("ssl", inherited_ssl):
        return []
    return sorted(key for key, value in kwargs.items() if key.startswith("ssl_") and value is not None)


def check_tls_kwargs(kwargs: Mapping[str, Any], argument: str, inherited_ssl: bool = False) -> None:
    """ValueError naming ``argument`` when ssl_* settings are given while TLS stays off."""
    ignored = ignored_tls_keys(kwargs, inherited_ssl)
    if ignored:
        raise ValueError(f"{argument}: {', '.join(ignored)} set but ssl is off, so the connections would not use TLS; "
                         "add ssl=True, or drop them")


def sentinel_kwargs_with_tls(sentinel_kwargs: Optional[Mapping[str, Any]], redis_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """sentinel_kwargs plus each TLS setting of redis_kwargs that sentinel_kwargs does not set itself.

    With TLS off for the Sentinels (``ssl=False``), no ssl_* setting is passed to them.
    """
    own = dict(sentinel_kwargs or {})
    check_tls_kwargs(own, "sentinel_kwargs", inherited_ssl=bool(redis_kwargs.get("ssl")))
    merged = {key: value for key, value in redis_kwargs.items() if is_tls_key(key) and key not in own}
    merged.update(own)
    if not merged.get("ssl"):
        merged = {key: value for key, value in merged.items() if not is_tls_key(key)}
    return merged


def uses_tls(kwargs: Mapping[str, Any]) -> bool:
    return bool(kwargs.get("ssl"))

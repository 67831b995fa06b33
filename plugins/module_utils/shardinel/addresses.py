"""The one parser of "host:port" addresses, for the client and the modules.

Accepted: "host:port", "[IPv6]:port" (brackets required for IPv6), and (host, port) pairs.
Formatted back as "host:port", or "[IPv6]:port" when the host contains a colon.
Every error is a ValueError that starts with '<argument>: <value> is not a "host:port" address'.
"""

from __future__ import annotations

from typing import Iterable, Sequence, Tuple, Union

Address = Tuple[str, int]
AddressLike = Union[str, Sequence[Union[str, int]]]


def _invalid(argument: str, value: object, reason: str) -> ValueError:
    return ValueError(f'{argument}: {value!r} is not a "host:port" address: {reason}')


def _split(text: str, argument: str) -> tuple[str, str]:
    stripped = text.strip()
    if stripped.startswith("["):
        host, bracket, rest = stripped[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise _invalid(argument, text, 'write an IPv6 address as "[address]:port"')
        return host, rest[1:]
    host, sep, port = stripped.rpartition(":")
    if not sep:
        raise _invalid(argument, text, "no port")
    if ":" in host:
        raise _invalid(argument, text, 'write an IPv6 address as "[address]:port"')
    return host, port


def parse_address(value: AddressLike, argument: str = "sentinels") -> Address:
    """(host, port) from "host:port", "[v6]:port" or a (host, port) pair; ValueError naming ``argument``."""
    if isinstance(value, str):
        host, port = _split(value, argument)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        host, port = str(value[0]), value[1]  # type: ignore[assignment]
    else:
        raise _invalid(argument, value, "expected a string or a (host, port) pair")
    if not host:
        raise _invalid(argument, value, "no host")
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise _invalid(argument, value, f"port {port!r} is not a number") from None
    if not 0 < number < 65536:
        raise _invalid(argument, value, f"port {number} is outside 1-65535")
    return host, number


def parse_addresses(values: Iterable[AddressLike], argument: str = "sentinels") -> list[Address]:
    """Every address parsed, duplicates dropped, order kept; at least one is required."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{argument}: expected a list of addresses, not a single string")
    addresses: list[Address] = []
    for value in values:
        address = parse_address(value, argument)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ValueError(f'{argument}: at least one "host:port" address is required')
    return addresses


def format_address(address: Address) -> str:
    """"host:port", or "[v6]:port" for an IPv6 host; the inverse of parse_address."""
    host, port = address
    return f"[{host}]:{int(port)}" if ":" in host else f"{host}:{int(port)}"

"""Parsing of Sentinel addresses given as "host:port" strings or (host, port) pairs."""

from __future__ import annotations

from typing import Iterable, Sequence, Tuple, Union

Address = Tuple[str, int]
AddressLike = Union[str, Sequence[Union[str, int]]]


def parse_address(value: AddressLike, argument: str = "sentinels") -> Address:
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if not sep or not host:
            raise ValueError(f"{argument}: {value!r} is not 'host:port'")
        host = host.strip("[]")
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        host, port = str(value[0]), value[1]  # type: ignore[assignment]
    else:
        raise ValueError(f"{argument}: {value!r} is neither 'host:port' nor a (host, port) pair")
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: port {port!r} of {value!r} is not a number") from None
    if not 0 < number < 65536:
        raise ValueError(f"{argument}: port {number} of {value!r} is out of range")
    return host, number


def parse_addresses(values: Iterable[AddressLike], argument: str = "sentinels") -> list[Address]:
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{argument} must be a list of addresses, not a single string")
    addresses = [parse_address(v, argument) for v in values]
    if not addresses:
        raise ValueError(f"{argument} must name at least one Sentinel")
    return addresses


def format_address(address: Address) -> str:
    return f"{address[0]}:{address[1]}"

"""Questions to the Sentinels: which shards exist, where each master is, which replicas are healthy.

No I/O here: each question is a procedure (see effects) that the client's shell runs over its own Sentinel
connections, and the answers are read with sentinel_answers (the master named with the highest config epoch).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .addresses import Address, format_address
from .effects import AskEach, AskSentinel, Procedure
from .errors import NoSentinelAvailableError, UnknownShardError
from .redis_import import AuthenticationError, RedisError
from .sentinel_answers import is_down, newest, parse_state, parse_states
from .tls_settings import uses_tls

# What a TLS-only port does to a plaintext client: the handshake fails and the server drops the connection.
DROPPED_AT_ONCE = ("Connection reset by peer", "Connection closed by server")
PLAINTEXT_HINT = ("every Sentinel dropped the connection at once, as a TLS-only port does with a plaintext client: "
                  "if they use TLS, set ssl=True and ssl_ca_certs (the Sentinels take the Redis ssl settings "
                  "unless sentinel_kwargs sets its own)")


def _error_text(error: BaseException) -> str:
    return str(error) or type(error).__name__


class SentinelDirectory:
    """The Sentinels' addresses, the connection settings for them, and the questions asked of them.

    ``connection_kwargs`` (redis-py keyword arguments, ``extra``'s TLS settings included, without the ``retry`` that
    each shell adds) apply to every connection to a Sentinel: questions and event subscriptions. The Sentinel that
    answered last is asked first.
    """

    def __init__(self, addresses: list[Address], username: Optional[str], password: Optional[str],
                 socket_timeout: float, extra: Optional[dict[str, Any]] = None) -> None:
        self.addresses = list(addresses)
        self.connection_kwargs: dict[str, Any] = {
            "username": username, "password": password, "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout, "decode_responses": True, "max_connections": 16,
        }
        self.connection_kwargs.update(extra or {})
        self._preferred = 0

    @property
    def labels(self) -> list[str]:
        return [format_address(a) for a in self.addresses]

    def _ordered(self) -> list[Address]:
        start = self._preferred
        return self.addresses[start:] + self.addresses[:start]

    def _first_answer(self, args: tuple[Any, ...]) -> Procedure:
        """The reply of the first Sentinel that answers, which is asked first next time."""
        failures: dict[str, str] = {}
        for address in self._ordered():
            try:
                reply = yield AskSentinel(address, args)
            except AuthenticationError:
                raise
            except (RedisError, OSError) as exc:
                failures[format_address(address)] = _error_text(exc)
                continue
            self._preferred = self.addresses.index(address)
            return reply
        raise self._unavailable(failures)

    def shard_names(self) -> Procedure:
        """Names of the masters monitored by the first Sentinel that answers."""
        reply = yield from self._first_answer(("SENTINEL", "MASTERS"))
        return sorted(str(state["name"]) for state in parse_states(reply))

    def master_address(self, shard: str) -> Procedure:
        """The master with the highest config epoch among the Sentinels that answer."""
        state = yield from self._newest_master_state(shard)
        return (str(state["ip"]), int(state["port"]))

    def replica_count(self, shard: str) -> Procedure:
        """Replicas (num-slaves, up or down) known by the Sentinel with the highest config epoch for the shard."""
        state = yield from self._newest_master_state(shard)
        return int(state.get("num-slaves", 0))

    def _newest_master_state(self, shard: str) -> Procedure:
        """SENTINEL MASTER from the answering Sentinel with the highest config epoch."""
        replies = yield AskEach(self._ordered(), ("SENTINEL", "MASTER", shard))
        failures: dict[str, str] = {}
        states: dict[Address, Mapping[str, Any]] = {}
        unknown = 0
        for address, reply in replies.items():
            if isinstance(reply, AuthenticationError):
                raise reply
            if isinstance(reply, RedisError) and "No such master" in str(reply):
                unknown += 1
            elif isinstance(reply, BaseException):
                failures[format_address(address)] = _error_text(reply)
            else:
                states[address] = parse_state(reply)
        found = newest(states)
        if found is not None:
            return found[1]
        if unknown:
            raise UnknownShardError(f"no Sentinel at {', '.join(self.labels)} monitors a master named {shard!r}")
        raise self._unavailable(failures)

    def replica_addresses(self, shard: str) -> Procedure:
        """Replicas that the first answering Sentinel considers up and linked to their master."""
        reply = yield from self._first_answer(("SENTINEL", "REPLICAS", shard))
        return [(str(state["ip"]), int(state["port"])) for state in parse_states(reply)
                if not is_down(state) and state.get("master-link-status") == "ok"]

    def _unavailable(self, failures: dict[str, str]) -> NoSentinelAvailableError:
        dropped = bool(failures) and all(any(text in error for text in DROPPED_AT_ONCE) for error in failures.values())
        return NoSentinelAvailableError(failures, PLAINTEXT_HINT if dropped and not uses_tls(self.connection_kwargs) else None)

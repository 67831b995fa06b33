"""Questions to the Sentinels: which shards exist, where each master is, which replicas are healthy."""

from __future__ import annotations

import threading
from typing import Any, Mapping, Optional

from .addresses import Address, format_address
from .errors import NoSentinelAvailableError, UnknownShardError
from .redis_import import AuthenticationError, NoBackoff, RedisError, Retry, redis
from .sentinel_answers import DOWN_FLAGS, newest
from .tls_settings import uses_tls

# What a TLS-only port does to a plaintext client: the handshake fails and the server drops the connection.
DROPPED_AT_ONCE = ("Connection reset by peer", "Connection closed by server")
PLAINTEXT_HINT = ("every Sentinel dropped the connection at once, as a TLS-only port does with a plaintext client: "
                  "if they use TLS, set ssl=True and ssl_ca_certs (the Sentinels take the Redis ssl settings "
                  "unless sentinel_kwargs sets its own)")


class SentinelDirectory:
    """One small redis-py client per Sentinel; the Sentinel that answered last is asked first.

    ``extra`` (redis-py keyword arguments, TLS settings included) applies to every connection to a
    Sentinel: the directory's clients and the clients made by ``new_client`` for subscriptions.
    """

    def __init__(self, addresses: list[Address], username: Optional[str], password: Optional[str],
                 socket_timeout: float, extra: Optional[dict[str, Any]] = None) -> None:
        self.addresses = list(addresses)
        self._kwargs: dict[str, Any] = {
            "username": username, "password": password, "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout, "decode_responses": True, "retry": Retry(NoBackoff(), 0),
            "max_connections": 16,
        }
        self._kwargs.update(extra or {})
        self._clients: dict[Address, Any] = {}
        self._preferred = 0
        self._lock = threading.Lock()

    @property
    def labels(self) -> list[str]:
        return [format_address(a) for a in self.addresses]

    def client(self, address: Address) -> Any:
        with self._lock:
            client = self._clients.get(address)
            if client is None:
                client = redis.Redis(host=address[0], port=address[1], **self._kwargs)
                self._clients[address] = client
            return client

    def new_client(self, address: Address) -> Any:
        """A separate client (own connection) for a long-lived Pub/Sub subscription; the caller closes it."""
        return redis.Redis(host=address[0], port=address[1], **self._kwargs)

    def _ordered(self) -> list[Address]:
        start = self._preferred
        return self.addresses[start:] + self.addresses[:start]

    def shard_names(self) -> list[str]:
        """Names of the masters monitored by the first Sentinel that answers."""
        failures: dict[str, str] = {}
        for address in self._ordered():
            try:
                masters = self.client(address).sentinel_masters()
            except AuthenticationError:
                raise
            except (RedisError, OSError) as exc:
                failures[format_address(address)] = str(exc) or type(exc).__name__
                continue
            self._preferred = self.addresses.index(address)
            return sorted(masters)
        raise self._unavailable(failures)

    def master_address(self, shard: str) -> Address:
        """The master with the highest config epoch among the Sentinels that answer."""
        state = self._newest_master_state(shard)
        return (str(state["ip"]), int(state["port"]))

    def replica_count(self, shard: str) -> int:
        """Replicas (num-slaves, up or down) known by the Sentinel with the highest config epoch for the shard."""
        return int(self._newest_master_state(shard).get("num-slaves", 0))

    def _newest_master_state(self, shard: str) -> Mapping[str, Any]:
        """SENTINEL MASTER from the answering Sentinel with the highest config epoch."""
        failures: dict[str, str] = {}
        states: dict[Address, Mapping[str, Any]] = {}
        unknown = 0
        for address in self._ordered():
            try:
                states[address] = self.client(address).sentinel_master(shard)
            except AuthenticationError:
                raise
            except RedisError as exc:
                if "No such master" in str(exc):
                    unknown += 1
                    continue
                failures[format_address(address)] = str(exc) or type(exc).__name__
            except OSError as exc:
                failures[format_address(address)] = str(exc) or type(exc).__name__
        found = newest(states)
        if found is not None:
            return found[1]
        if unknown:
            raise UnknownShardError(f"no Sentinel at {', '.join(self.labels)} monitors a master named {shard!r}")
        raise self._unavailable(failures)

    def replica_addresses(self, shard: str) -> list[Address]:
        """Replicas that the first answering Sentinel considers up and linked to their master."""
        failures: dict[str, str] = {}
        for address in self._ordered():
            try:
                reply = self.client(address).execute_command("SENTINEL REPLICAS", shard)
            except AuthenticationError:
                raise
            except (RedisError, OSError) as exc:
                failures[format_address(address)] = str(exc) or type(exc).__name__
                continue
            healthy = []
            for item in reply:
                fields = item if isinstance(item, dict) else dict(zip(item[::2], item[1::2]))
                flags = set(str(fields.get("flags", "")).split(","))
                if not flags & DOWN_FLAGS and fields.get("master-link-status") == "ok":
                    healthy.append((str(fields["ip"]), int(fields["port"])))
            return healthy
        raise self._unavailable(failures)

    def _unavailable(self, failures: dict[str, str]) -> NoSentinelAvailableError:
        dropped = bool(failures) and all(any(text in error for text in DROPPED_AT_ONCE) for error in failures.values())
        return NoSentinelAvailableError(failures, PLAINTEXT_HINT if dropped and not uses_tls(self._kwargs) else None)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

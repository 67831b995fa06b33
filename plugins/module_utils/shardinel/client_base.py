"""What the sync and the asyncio ShardedSentinelClient share that needs no I/O: the constructor and its checks,
routing questions, the shards' redis-py clients, response callbacks and retries, from_url."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

from .addresses import Address, AddressLike
from .client_arguments import client_settings
from .client_core import ClientCore
from .client_url import parse_client_url
from .layout import Layout


class ShardedClientBase:
    """A shell subclasses this with redis-py's (or redis.asyncio's) command mixins and provides ``_redis_class``,
    ``_no_retry()``, ``_new_event()``, ``_require_redis()`` and ``_open()`` (what it does once the arguments are
    checked: the sync client connects, the asyncio one waits for its first command or ``initialize()``)."""

    _event_dispatcher: Any = None
    _redis_class: Any = None
    _listener: Any = None

    def __init__(  # pylint: disable=too-many-arguments
        self,
        sentinels: Iterable[AddressLike],
        service_names: Optional[Sequence[str]] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        sentinel_username: Optional[str] = None,
        sentinel_password: Optional[str] = None,
        read_from_replicas: bool = False,
        *,
        failover_timeout: float = 10.0,
        sentinel_socket_timeout: float = 1.0,
        sentinel_kwargs: Optional[dict[str, Any]] = None,
        follow_switch_events: bool = True,
        durable_writes: int = 0,
        durable_timeout: float = 1.0,
        **redis_kwargs: Any,
    ) -> None:
        self._require_redis()
        settings = client_settings(sentinels, service_names, username, password, sentinel_username, sentinel_password,
                                   read_from_replicas, failover_timeout, sentinel_socket_timeout, sentinel_kwargs,
                                   follow_switch_events, durable_writes, durable_timeout, redis_kwargs)
        settings.redis_kwargs.setdefault("retry", self._no_retry())
        self._redis_kwargs = settings.redis_kwargs
        self._response_callbacks: Any = None
        self._core = ClientCore(settings, self._redis_for, self._reader_for, self._new_event)
        self._open()

    def _require_redis(self) -> None:
        raise NotImplementedError

    def _no_retry(self) -> Any:
        raise NotImplementedError

    def _new_event(self) -> Any:
        raise NotImplementedError

    def _open(self) -> None:
        raise NotImplementedError

    def _redis_for(self, address: Address) -> Any:
        """A redis-py client for one server; every one shares this client's response callbacks."""
        client = self._redis_class(host=address[0], port=address[1], **self._redis_kwargs)
        if self._response_callbacks is None:
            self._response_callbacks = client.response_callbacks
        else:
            client.response_callbacks = self._response_callbacks
        return client

    def _reader_for(self, address: Address, kwargs: dict[str, Any]) -> Any:
        return self._redis_class(host=address[0], port=address[1], **dict(kwargs, retry=self._no_retry()))

    def _sentinel_kwargs(self) -> dict[str, Any]:
        """redis-py arguments of a connection to a Sentinel."""
        return dict({"retry": self._no_retry()}, **self._core.directory.connection_kwargs)

    # routing --------------------------------------------------------------------------------
    @property
    def shards(self) -> list[str]:
        """The shard names this client routes to (while a reshard runs: the new and the previous set)."""
        return self._core.names

    def shard_for(self, key: Any) -> str:
        """Name of the shard that holds key (while a reshard runs: its new owner)."""
        return self._core.shard_for(key)

    @property
    def layout(self) -> Layout:
        """The shard layout this client routes on; version 0 when none is published or ``service_names`` was given."""
        return self._core.routing

    def master_for_shard(self, name: str) -> Address:
        """(host, port) of the shard's current master, as this client last learned it."""
        return self._core.shard(name).address

    def get_encoder(self) -> Any:
        return self._core.shard(self._core.names[0]).client.get_encoder()

    # redis-py's client settings, over every shard -----------------------------------------------
    @property
    def response_callbacks(self) -> Any:
        """redis-py's response callbacks, shared by every shard's client and pipeline."""
        return self._response_callbacks

    def set_response_callback(self, command: str, callback: Callable[..., Any]) -> None:
        self._response_callbacks[command] = callback

    def get_retry(self) -> Any:
        """redis-py's Retry for one connection attempt; failovers are retried by this client for failover_timeout."""
        return self._redis_kwargs.get("retry")

    def set_retry(self, retry: Any) -> None:
        self._redis_kwargs["retry"] = retry
        for shard in list(self._core.shards.values()):
            shard.client.set_retry(retry)
            for replica in shard.replicas or []:
                replica.set_retry(retry)

    @property
    def subscribed_sentinels(self) -> list[str]:
        """"host:port" of the Sentinels whose failover events this client follows right now."""
        return self._listener.status.subscribed_sentinels if self._listener is not None else []

    @property
    def sentinels_without_failover_events(self) -> list[str]:
        """Subscribed Sentinels whose ACL allows +switch-master only: their failovers are followed but not paused for."""
        return self._listener.status.limited_sentinels if self._listener is not None else []

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        """A client from "redis+sentinel://user:password@host:port,host:port/db?sentinel_username=...": see client_url.
        Keyword arguments override the URL's."""
        sentinels, options = parse_client_url(url)
        options.update(kwargs)
        return cls(sentinels, **options)

    def __repr__(self) -> str:
        core = getattr(self, "_core", None)
        names = core.names if core is not None else []
        labels = core.directory.labels if core is not None else []
        return f"<{type(self).__name__} shards={names} sentinels={labels}>"

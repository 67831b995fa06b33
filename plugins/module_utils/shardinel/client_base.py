"""What the sync and the asyncio ShardedSentinelClient share that needs no I/O: the constructor and its checks,
routing questions, the shards' redis-py clients, response callbacks and retries, the redis-py objects made over
shards (pipelines, pubsub, lock, monitor, the pools), from_url."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence

from .addresses import Address, AddressLike
from .client_arguments import client_settings
from .client_core import ClientCore
from .client_url import parse_client_url
from .layout import Layout
from .redis_import import Encoder, NoBackoff


class ShellClasses(NamedTuple):
    """What a shell's client makes its objects with: redis-py's (or redis.asyncio's) Redis, Retry, Lock and Monitor,
    its own pipeline, PubSub and pools classes, and the event a failover pause waits on."""

    redis: Any
    retry: Any
    event: Any
    pipeline: Any
    pubsub: Any
    lock: Any
    monitor: Any
    pools: Any


class ShardedClientBase:
    """A shell subclasses this with redis-py's (or redis.asyncio's) command mixins and provides ``_classes``,
    ``_require_redis()``, ``_open()`` (what it does once the arguments are checked: the sync client connects, the
    asyncio one waits for its first command or ``initialize()``) and ``_master_client(name)``."""

    _event_dispatcher: Any = None
    _classes: ShellClasses
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
        self._sentinels: dict[Address, Any] = {}
        self._sentinels_lock = threading.Lock()
        self._core = ClientCore(settings, self._redis_for, self._reader_for, self._classes.event)
        self._open()

    def _require_redis(self) -> None:
        raise NotImplementedError

    def _open(self) -> None:
        raise NotImplementedError

    def _master_client(self, name: str) -> Any:
        raise NotImplementedError

    def _no_retry(self) -> Any:
        return self._classes.retry(NoBackoff(), 0)

    def _redis_for(self, address: Address) -> Any:
        """A redis-py client for one server; every one shares this client's response callbacks."""
        client = self._classes.redis(host=address[0], port=address[1], **self._redis_kwargs)
        if self._response_callbacks is None:
            self._response_callbacks = client.response_callbacks
        else:
            client.response_callbacks = self._response_callbacks
        return client

    def _reader_for(self, address: Address, kwargs: dict[str, Any]) -> Any:
        return self._classes.redis(host=address[0], port=address[1], **dict(kwargs, retry=self._no_retry()))

    def _new_sentinel_client(self, address: Address) -> Any:
        """A redis-py client (its own pool) for one Sentinel: for event subscriptions."""
        kwargs = dict({"retry": self._no_retry()}, **self._core.directory.connection_kwargs)
        return self._classes.redis(host=address[0], port=address[1], **kwargs)

    def _sentinel_client(self, address: Address) -> Any:
        """The client this client asks one Sentinel's questions with."""
        with self._sentinels_lock:
            client = self._sentinels.get(address)
            if client is None:
                client = self._sentinels[address] = self._new_sentinel_client(address)
            return client

    def _take_sentinel_clients(self) -> list[Any]:
        with self._sentinels_lock:
            clients, self._sentinels = list(self._sentinels.values()), {}
        return clients

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
        """redis-py's Encoder for the connection arguments every shard shares (also before the first command)."""
        kwargs = self._redis_kwargs
        return Encoder(encoding=kwargs.get("encoding", "utf-8"), encoding_errors=kwargs.get("encoding_errors", "strict"),
                       decode_responses=kwargs.get("decode_responses", False))

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

    # redis-py's objects over shards -------------------------------------------------------------
    def pipeline(self, transaction: bool = True, shard_hint: Optional[str] = None) -> Any:
        """A pipeline, as redis-py's: ``transaction=True`` (the default) is one MULTI/EXEC, so its keys must be on
        one shard (CrossShardError otherwise); ``transaction=False`` batches across shards, in parallel, results in
        call order."""
        return self._classes.pipeline(self, transaction, shard_hint)

    def lock(self, name: Any, timeout: Optional[float] = None, sleep: float = 0.1,  # pylint: disable=too-many-arguments
             blocking: bool = True, blocking_timeout: Optional[float] = None, lock_class: Any = None,
             thread_local: bool = True, raise_on_release_error: bool = True) -> Any:
        """redis-py's Lock (or ``lock_class``) on the shard that holds ``name``: its scripts are loaded on every shard."""
        options: dict[str, Any] = {"timeout": timeout, "sleep": sleep, "blocking": blocking,
                                   "blocking_timeout": blocking_timeout, "thread_local": thread_local}
        if raise_on_release_error is not True:
            options["raise_on_release_error"] = raise_on_release_error
        return (lock_class or self._classes.lock)(self, name, **options)

    def pubsub(self, **kwargs: Any) -> Any:
        """redis-py's PubSub: channels and patterns on one shard's master (PUBLISH reaches every shard), shard
        channels on the shard that owns each (see pubsub.ShardedPubSub)."""
        core = self._core
        home = core.routing.shards[next(core.pubsub_turn) % len(core.routing.shards)]
        return self._classes.pubsub(home, self.shard_for, lambda name: self._master_client(name).connection_pool, **kwargs)

    def monitor(self, shard: Optional[str] = None) -> Any:
        """redis-py's Monitor on one shard's master; ``shard`` may be left out when there is only one."""
        if shard is None:
            if len(self.shards) != 1:
                raise ValueError(f"monitor() watches one server: name the shard, one of {', '.join(self.shards)}")
            shard = self.shards[0]
        return self._classes.monitor(self._master_client(shard).connection_pool)

    def shard_client(self, name: str) -> Any:
        """The redis-py Redis client of the shard's current master, for commands about that one server (INFO,
        CONFIG, CLIENT, ...). It does not follow a later failover: ask again for the new master's."""
        return self._master_client(name)

    @property
    def connection_pool(self) -> Any:
        """Each shard's redis-py ConnectionPool by shard name (``client.connection_pool["shard1"]``), with the
        pool methods that apply to all of them (disconnect, reset, get_encoder, connection_kwargs)."""
        return self._classes.pools(self)

    def get_connection_kwargs(self) -> dict[str, Any]:
        """The redis-py connection arguments every shard's connections share (host and port differ)."""
        return self.connection_pool.connection_kwargs  # type: ignore[no-any-return]

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

"""ShardedSentinelClient: redis-py's Redis command methods over every master that Sentinel monitors.

The routing, failover following, layout following and planning are shared with shardinel.asyncio (client_core
and the procedures of failover_steps, command_steps, key_pull and pipeline_steps); this is their blocking shell:
redis-py's clients, sync_io running the procedures, threads for the Sentinels' events and the layout reads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from .client_arguments import FORBIDDEN_REDIS_KWARGS
from .client_base import ShardedClientBase, ShellClasses
from .client_core import Shard
from .command_steps import execute, scan, single_key_commands
from .effects import Procedure
from .failover_steps import ready_shard
from .pipeline import ShardedPipeline
from .pubsub import ShardedPubSub
from .redis_import import CoreCommands, Lock, Monitor, RedisError, RedisModuleCommands, Retry, WatchError, redis
from .shard_pools import ShardConnectionPools
from .switch_listener import SwitchListener
from .sync_io import SyncIO

__all__ = ["ShardedSentinelClient", "DisredisClient", "FORBIDDEN_REDIS_KWARGS"]


class ShardedSentinelClient(ShardedClientBase, RedisModuleCommands, CoreCommands):  # type: ignore[misc]
    """A drop-in for redis-py's Redis that spreads keys over the shards that Sentinel monitors.

    Keys map to slots (CRC16 mod 16384 with {hash tags}) and slots to shard names through a
    table built from the sorted names only. Failovers are followed from the events of every
    Sentinel: when the leader announces that it is promoting a replica of a shard, that shard's
    commands wait (at most ``failover_timeout`` s) until +switch-master moves them to the new
    master, or an abort or the timeout sends them back to the master the Sentinels name, so
    that nothing is written into a master that is about to be replaced. Also from a re-sync
    after every Sentinel (re)connect, and from errors (connection errors, timeouts, READONLY),
    which re-ask the Sentinels and retry for up to ``failover_timeout`` s.
    SCAN cursors encode the shard; command_plans says which commands split, fan out, go to any
    shard or are refused (with one shard, none is: every command goes to it). pipeline() is a
    MULTI/EXEC by default, as in redis-py; lock(), pubsub(), transaction(), monitor(shard),
    from_url() and connection_pool[shard] are redis-py's API over shards.

    ``durable_writes=N`` (default 0: off) makes every write command (flagged ``write`` in the
    server's COMMAND table, plus EVAL, EVALSHA and FCALL, whose scripts may write) and every
    pipeline or transaction batch that holds one wait until N replicas acknowledge it (Redis WAIT
    on the same connection, at most ``durable_timeout`` s, default 1.0), or raise DurabilityError.
    Each shard's part of a split command gets its own WAIT. N may not exceed the replicas that the
    Sentinels know for any shard, and a ``socket_timeout`` must be longer than ``durable_timeout``.

    TLS: redis-py's ``ssl=True`` with ``ssl_ca_certs`` (and for mutual TLS ``ssl_certfile`` and
    ``ssl_keyfile``; also ``ssl_cert_reqs``, ``ssl_check_hostname`` and the other ``ssl_*`` arguments)
    among the keyword arguments apply to every connection to Redis: masters, replica reads,
    pipelines, fan-outs and durable writes. The Sentinel connections (discovery and the event
    subscriptions) take the same settings, each ``ssl``/``ssl_*`` key that ``sentinel_kwargs`` does not
    set itself: ``sentinel_kwargs={"ssl": False}`` reaches plaintext Sentinels, and for example
    ``sentinel_kwargs={"ssl_ca_certs": ...}`` another CA. ``ssl_*`` settings while ``ssl`` is off raise
    ValueError, since redis-py would ignore them.

    Layout: without ``service_names`` the client routes on the shard layout that the collection
    publishes on every master (shardinel.layout), read at start and about once a second after;
    with none published, on every master the Sentinels monitor. While a reshard moves keys, a
    command that touches a moving slot runs on the previous owner until the reshard step marks it,
    then first pulls its keys from there (MIGRATE, so the application user needs ``+migrate
    +restore``) and runs on the new owner (see key_pull). A client that
    could not read the layout for its lease (5 s unless the layout says otherwise) raises
    LayoutUnavailableError for keyed commands until it can. With ``service_names`` the names are
    fixed and no layout is read.
    """

    _classes = ShellClasses(getattr(redis, "Redis", None), Retry, threading.Event, ShardedPipeline, ShardedPubSub, Lock,
                            Monitor, ShardConnectionPools)

    def _require_redis(self) -> None:
        if redis is None:
            raise ImportError("shardinel needs the redis package (pip install redis)")

    def _open(self) -> None:
        self._lock = threading.Lock()
        self._executor: Optional[ThreadPoolExecutor] = None
        self._stopped = threading.Event()
        self._layout_thread: Optional[threading.Thread] = None
        self._io = SyncIO(self._sentinel_client, self._pool)
        try:
            self._io.run(self._core.start())
            if self._core.follower is not None:
                self._layout_thread = threading.Thread(target=self._follow_layout, name="shardinel-layout", daemon=True)
                self._layout_thread.start()
            if self._core.settings.follow_switch_events:
                self._listener = SwitchListener(self._core, self._io, self._new_sentinel_client)
                self._listener.start()
        except BaseException:
            self.close()
            raise

    def _run(self, procedure: Procedure) -> Any:
        return self._io.run(procedure)

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._core.closed:
                raise self._core.closed_error()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=max(2, len(self._core.shards)), thread_name_prefix="shardinel")
            return self._executor

    def _follow_layout(self) -> None:
        follower = self._core.follower
        while follower is not None and not self._stopped.wait(follower.poll_interval()):
            self._io.run(follower.refresh())

    def _ready_shard(self, name: str) -> Shard:
        """The shard, once no failover holds it (for callers that use its redis-py client directly)."""
        return self._io.run(ready_shard(self._core, name))  # type: ignore[no-any-return]

    def _master_client(self, name: str) -> Any:
        return self._ready_shard(name).client

    # command execution ---------------------------------------------------------------------
    def execute_command(self, *args: Any, **options: Any) -> Any:
        shard = self._core.fast_shard(args)
        if shard is not None:
            client = shard.client
            try:
                return client.execute_command(*args, **options)
            except (RedisError, OSError, ValueError, AttributeError) as exc:
                if not self._core.retry_on_full_path(shard, client, exc):
                    raise
        return self._io.run(execute(self._core, args, options))

    @property
    def _fast_commands(self) -> frozenset[str]:
        return self._core.fast_commands

    def single_key_commands(self) -> frozenset[str]:
        """Commands whose only key is their first argument (GET, SET, HSET, ...): routed by it without a plan."""
        return self._io.run(single_key_commands(self._core))  # type: ignore[no-any-return]

    def wait_for_switch_listener(self, timeout: float = 5.0) -> bool:
        """Wait until every Sentinel's event subscription was attempted; True if at least one is active.

        Always False without follow_switch_events.
        """
        return self._listener is not None and self._listener.wait_subscribed(timeout)

    # commands with shard-aware meaning -----------------------------------------------------
    def scan(self, cursor: int = 0, match: Any = None, count: Optional[int] = None, _type: Optional[str] = None,  # type: ignore[override]
             **kwargs: Any) -> tuple[int, list[Any]]:
        """SCAN over every shard in turn (see command_steps.scan): the cursor encodes the shard."""
        return self._io.run(scan(self._core, cursor, match, count, _type, kwargs))  # type: ignore[no-any-return]

    def transaction(self, func: Callable[[Any], Any], *watches: Any, shard_hint: Optional[str] = None,
                    value_from_callable: bool = False, watch_delay: Optional[float] = None) -> Any:
        """redis-py's transaction(): run ``func(pipe)`` with ``watches`` watched, and again after every WatchError.

        The watched keys and the transaction's keys must be on one shard."""
        with self.pipeline(True, shard_hint) as pipe:
            while True:
                try:
                    if watches:
                        pipe.watch(*watches)
                    value = func(pipe)
                    results = pipe.execute()
                    return value if value_from_callable else results
                except WatchError:
                    if watch_delay is not None and watch_delay > 0:
                        time.sleep(watch_delay)

    # lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the listener thread and worker threads, and close every connection."""
        with self._lock:
            if not self._core.close():
                return
            executor, self._executor = self._executor, None
        self._stopped.set()
        if self._layout_thread is not None and self._layout_thread is not threading.current_thread():
            self._layout_thread.join(timeout=5)
        if self._listener is not None:
            self._listener.stop()
        if executor is not None:
            executor.shutdown(wait=True)
        for client in self._core.take_clients() + self._take_sentinel_clients():
            client.close()

    def __enter__(self) -> "ShardedSentinelClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


DisredisClient = ShardedSentinelClient

"""shardinel.asyncio.ShardedSentinelClient: redis.asyncio's Redis command methods over every master Sentinel monitors.

The routing, failover following, layout following and planning are the sync client's (client_core and the
procedures of failover_steps, command_steps, key_pull and pipeline_steps); this is their asyncio shell:
redis.asyncio's clients, async_io running the procedures, one task per Sentinel for its events and one for the
layout reads. No threads.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Optional

from ..client_base import ShardedClientBase, ShellClasses
from ..command_steps import execute, scan, single_key_commands
from ..effects import Procedure
from ..failover_steps import ready_shard
from ..redis_import import RedisError, WatchError
from .async_io import AsyncIO
from .event_tasks import EventTasks
from .pipeline import ShardedPipeline
from .pubsub import ShardedPubSub
from .shard_pools import AsyncShardConnectionPools
from .redis_import import AsyncCoreCommands, AsyncRedisModuleCommands, Lock, Monitor, Retry, aioredis, missing_reason


class ShardedSentinelClient(ShardedClientBase, AsyncRedisModuleCommands, AsyncCoreCommands):  # type: ignore[misc]
    """A drop-in for redis.asyncio's Redis that spreads keys over the shards Sentinel monitors.

    Built from the same arguments as shardinel.ShardedSentinelClient, with the same checks (ValueError naming the
    argument); redis-py's keyword arguments go to redis.asyncio's connections. Nothing is sent until
    ``await client.initialize()``, ``await client``, ``async with client`` or the first command, which asks the
    Sentinels for the shards and their masters, reads the layout and starts one task per Sentinel that follows
    its failover events (the pause from the leader's +elected-leader to +switch-master, the re-sync after every
    reconnect) and one that re-reads the layout about once a second. A client whose start failed is closed.
    ``await client.aclose()`` (or leaving ``async with``) stops the tasks and closes every connection.

    Commands behave as the sync client's: key routing with {hash tags}, split commands (MGET, MSET, DEL, ...)
    sent to every shard at once, fan-outs, CrossShardError and KeylessCommandError, SCAN across shards,
    retries for up to ``failover_timeout`` after connection errors, timeouts and READONLY, ``durable_writes``
    with WAIT in the same round trip, LayoutUnavailableError after the layout's lease, key pulls while a
    reshard moves keys. ``pipeline()`` groups by shard and awaits the shards together; ``transaction()`` and
    WATCH work within one shard; ``pubsub()``, ``lock()`` and ``monitor(shard)`` are redis.asyncio's over
    shards. ``shard_client(name)`` and ``monitor()`` use the shard's master of the moment (no failover pause
    is waited for). A task cancelled in the middle of a command leaves no connection with an unread reply
    behind; the next command works.
    """

    _classes = ShellClasses(getattr(aioredis, "Redis", None), Retry, asyncio.Event, ShardedPipeline, ShardedPubSub, Lock,
                            Monitor, AsyncShardConnectionPools)

    def _require_redis(self) -> None:
        reason = missing_reason()
        if reason is not None:
            raise ImportError(reason)

    def _open(self) -> None:
        self._io = AsyncIO(self._sentinel_client)
        self._started = False
        self._start_lock: Optional[asyncio.Lock] = None
        self._layout_task: Optional[asyncio.Future[None]] = None
        self._events: Optional[EventTasks] = None

    async def _run(self, procedure: Procedure) -> Any:
        """Run a procedure, once the client is started."""
        if not self._started:
            await self.initialize()
        return await self._io.run(procedure)

    # start and end ---------------------------------------------------------------------------
    async def initialize(self) -> "ShardedSentinelClient":
        """Ask the Sentinels for the shards and their masters and start following them (once)."""
        if self._started:
            return self
        core = self._core
        if core.closed:
            raise core.closed_error()
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started or core.closed:
                return await self.initialize()
            try:
                await self._io.run(core.start())
                if core.follower is not None:
                    self._layout_task = asyncio.ensure_future(self._follow_layout())
                if core.settings.follow_switch_events:
                    self._events = self._listener = EventTasks(core, self._io, self._new_sentinel_client)
                    self._events.start()
            except BaseException:
                await self.aclose()
                raise
            self._started = True
        return self

    def __await__(self) -> Any:
        return self.initialize().__await__()

    async def __aenter__(self) -> "ShardedSentinelClient":
        return await self.initialize()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def _follow_layout(self) -> None:
        follower = self._core.follower
        while follower is not None and not self._core.closed:
            await asyncio.sleep(follower.poll_interval())
            await self._io.run(follower.refresh())

    async def aclose(self, close_connection_pool: Optional[bool] = None) -> None:
        """Stop the tasks and close every connection; a closed client raises on every command."""
        del close_connection_pool
        if not self._core.close():
            return
        layout_task, self._layout_task = self._layout_task, None
        if layout_task is not None:
            layout_task.cancel()
            await asyncio.gather(layout_task, return_exceptions=True)
        if self._events is not None:
            await self._events.stop()
        for client in self._core.take_clients() + self._take_sentinel_clients():
            try:
                await client.aclose()
            except (RedisError, OSError):
                pass

    close = aclose

    async def wait_for_switch_listener(self, timeout: float = 5.0) -> bool:
        """Wait until every Sentinel's event subscription was attempted; True if at least one is active.

        Always False without follow_switch_events."""
        if not self._started:
            await self.initialize()
        return self._events is not None and await self._events.wait_subscribed(timeout)

    # commands --------------------------------------------------------------------------------
    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if not self._started:
            await self.initialize()
        shard = self._core.fast_shard(args)
        if shard is not None:
            client = shard.client
            try:
                return await client.execute_command(*args, **options)
            except (RedisError, OSError, ValueError, AttributeError) as exc:
                if not self._core.retry_on_full_path(shard, client, exc):
                    raise
        return await self._io.run(execute(self._core, args, options))

    async def single_key_commands(self) -> frozenset[str]:
        """Commands whose only key is their first argument (GET, SET, HSET, ...): routed by it without a plan."""
        return await self._run(single_key_commands(self._core))  # type: ignore[no-any-return]

    async def scan(self, cursor: int = 0, match: Any = None, count: Optional[int] = None,  # type: ignore[override]
                   _type: Optional[str] = None, **kwargs: Any) -> tuple[int, list[Any]]:
        """SCAN over every shard in turn (see command_steps.scan): the cursor encodes the shard."""
        return await self._run(scan(self._core, cursor, match, count, _type, kwargs))  # type: ignore[no-any-return]

    async def _ready_shard(self, name: str) -> Any:
        """The shard, once no failover holds it."""
        return await self._run(ready_shard(self._core, name))

    def _master_client(self, name: str) -> Any:
        if not self._started:
            raise RedisError("this client is not started yet: await client.initialize() (or any command) first")
        return self._core.shard(name).client

    async def transaction(self, func: Callable[[Any], Any], *watches: Any, shard_hint: Optional[str] = None,
                          value_from_callable: bool = False, watch_delay: Optional[float] = None) -> Any:
        """redis.asyncio's transaction(): run ``func(pipe)`` (a function or a coroutine function) with ``watches``
        watched, and again after every WatchError. The watched keys and the transaction's keys must be on one shard."""
        async with self.pipeline(True, shard_hint) as pipe:
            while True:
                try:
                    if watches:
                        await pipe.watch(*watches)
                    value = func(pipe)
                    if inspect.isawaitable(value):
                        value = await value
                    results = await pipe.execute()
                    return value if value_from_callable else results
                except WatchError:
                    if watch_delay is not None and watch_delay > 0:
                        await asyncio.sleep(watch_delay)

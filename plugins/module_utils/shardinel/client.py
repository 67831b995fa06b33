"""ShardedSentinelClient: redis-py's Redis command methods over every master that Sentinel monitors."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Optional, Sequence

from .addresses import Address, AddressLike, parse_addresses
from .client_url import parse_client_url
from .command_keys import CommandKeys
from .command_plans import ANY_SHARD, FANOUT_MERGES, SPLIT_COMMANDS, Plan, command_label, plan_command
from .durability import DurableWrites, describe
from .errors import DurabilityError, LayoutChangedError, LayoutUnavailableError, ShardUnavailableError, UnknownShardError
from .failover_pause import FailoverPause
from .key_pull import KeyPull
from .layout import Layout
from .layout_follower import LayoutFollower
from .pipeline import ShardedPipeline
from .pubsub import ShardedPubSub
from .redis_import import (AuthenticationError, CoreCommands, Lock, Monitor, NoBackoff, ReadOnlyError, RedisConnectionError,
                           RedisError, RedisModuleCommands, RedisTimeoutError, Retry, WatchError, redis)
from .sentinel_directory import SentinelDirectory
from .shard_batches import send_at_once
from .shard_pools import ShardConnectionPools
from .slots import key_slot, key_slots
from .switch_listener import SwitchListener
from .tls_settings import check_tls_kwargs, sentinel_kwargs_with_tls

FAILOVER_ERRORS = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)
FORBIDDEN_REDIS_KWARGS = ("host", "port", "unix_socket_path", "connection_pool", "single_connection_client")
READ_ONLY_COMMANDS = frozenset({
    "GET", "MGET", "STRLEN", "GETRANGE", "SUBSTR", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME",
    "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HRANDFIELD", "HSCAN",
    "LRANGE", "LLEN", "LINDEX", "LPOS", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER", "SSCAN",
    "SINTER", "SUNION", "SDIFF", "SINTERCARD", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZSCORE",
    "ZMSCORE", "ZCARD", "ZCOUNT", "ZRANK", "ZREVRANK", "ZSCAN", "ZLEXCOUNT", "ZRANGEBYLEX", "ZREVRANGEBYLEX",
    "GETBIT", "BITCOUNT", "BITPOS", "PFCOUNT", "XRANGE", "XREVRANGE", "XLEN", "DUMP", "OBJECT", "GEOPOS", "GEODIST",
    "GEOHASH", "GEOSEARCH",
})


class _Shard:
    """Where one shard's master is now, with one redis-py client (one pool) for it, plus replica clients."""

    def __init__(self, name: str, address: Address, client: Any) -> None:
        self.name = name
        self.address = address
        self.client = client
        self.replicas: Optional[list[Any]] = None
        self.next_replica = 0
        self.lock = threading.Lock()
        self.pause = FailoverPause()


class ShardedSentinelClient(RedisModuleCommands, CoreCommands):  # type: ignore[misc]
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

    _event_dispatcher: Any = None

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
        if redis is None:
            raise ImportError("shardinel needs the redis package (pip install redis)")
        addresses = parse_addresses(sentinels)
        names = self._validate(service_names, failover_timeout, sentinel_socket_timeout, redis_kwargs)
        check_tls_kwargs(redis_kwargs, "redis_kwargs")
        self._durable = self._validate_durability(durable_writes, durable_timeout, redis_kwargs)
        self._failover_timeout = float(failover_timeout)
        self._read_from_replicas = bool(read_from_replicas)
        redis_kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        self._redis_kwargs = dict(redis_kwargs, username=username, password=password)
        self._pull = KeyPull(self, int(redis_kwargs.get("db") or 0), username, password,
                             float(redis_kwargs.get("socket_timeout") or 5.0), self._failover_timeout)
        self._follower: Optional[LayoutFollower] = None
        self._response_callbacks: Any = None
        self._pubsub_turn = itertools.count()
        self._closed = False
        self._fast_commands: frozenset[str] = frozenset()
        self._single_keys: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._resync_lock = threading.Lock()
        self._executor: Optional[ThreadPoolExecutor] = None
        self._listener: Optional[SwitchListener] = None
        self._directory = SentinelDirectory(addresses, sentinel_username, sentinel_password, sentinel_socket_timeout,
                                            sentinel_kwargs_with_tls(sentinel_kwargs, redis_kwargs))
        self._shards: dict[str, _Shard] = {}
        try:
            for name in names if names is not None else self._directory.shard_names():
                address = self._directory.master_address(name)
                self._shards[name] = _Shard(name, address, self._redis_for(address))
            if not self._shards:
                raise UnknownShardError(f"the Sentinels at {', '.join(self._directory.labels)} monitor no masters")
            self._routing = Layout(0, self._shards)
            self.shards: list[str] = list(self._routing.all_shards)
            if names is None:
                self._follower = LayoutFollower(self._layout_sources, self._install_layout, self._redis_kwargs,
                                                min(sentinel_socket_timeout, 1.0))
                self._follower.refresh()
                self._follower.start()
            if self._durable is not None:
                self._check_replica_counts(self._durable.replicas)
            self._command_keys = CommandKeys(self._command_table, self._getkeys)
            if follow_switch_events:
                self._listener = SwitchListener(self._directory, self._on_switch, self._resync,
                                                on_failover_start=self._on_failover_start,
                                                on_failover_abort=self._on_failover_abort)
                self._listener.start()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _validate(service_names: Optional[Sequence[str]], failover_timeout: float, sentinel_socket_timeout: float,
                  redis_kwargs: dict[str, Any]) -> Optional[list[str]]:
        for key in FORBIDDEN_REDIS_KWARGS:
            if key in redis_kwargs:
                raise ValueError(f"redis_kwargs: {key!r} cannot be set; Sentinel decides where each shard's master is")
        for label, value in (("failover_timeout", failover_timeout), ("sentinel_socket_timeout", sentinel_socket_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
        if service_names is None:
            return None
        if isinstance(service_names, str) or not all(isinstance(n, str) and n for n in service_names):
            raise ValueError(f"service_names must be a list of non-empty names, got {service_names!r}")
        if not service_names:
            raise ValueError("service_names must not be empty (use None for every monitored master)")
        return sorted(set(service_names))

    @staticmethod
    def _validate_durability(durable_writes: int, durable_timeout: float,
                             redis_kwargs: dict[str, Any]) -> Optional[DurableWrites]:
        if isinstance(durable_writes, bool) or not isinstance(durable_writes, int) or durable_writes < 0:
            raise ValueError(f"durable_writes must be a non-negative whole number of replicas, got {durable_writes!r}")
        if isinstance(durable_timeout, bool) or not isinstance(durable_timeout, (int, float)) or not durable_timeout > 0:
            raise ValueError(f"durable_timeout must be a positive number of seconds, got {durable_timeout!r}")
        if not durable_writes:
            return None
        socket_timeout = redis_kwargs.get("socket_timeout")
        if socket_timeout is not None and socket_timeout <= durable_timeout:
            raise ValueError(f"durable_timeout ({durable_timeout!r} s) must be shorter than socket_timeout "
                             f"({socket_timeout!r} s): WAIT blocks for up to durable_timeout")
        return DurableWrites(durable_writes, float(durable_timeout))

    def _check_replica_counts(self, required: int) -> None:
        counts = {name: self._directory.replica_count(name) for name in self.shards}
        short = [f"{name!r} ({count})" for name, count in counts.items() if count < required]
        if short:
            raise ValueError(f"durable_writes={required} is more than the replicas the Sentinels know for shard"
                             f"{'s' if len(short) > 1 else ''} {', '.join(short)}")

    # routing ------------------------------------------------------------------------------
    def shard_for(self, key: Any) -> str:
        """Name of the shard that holds key (while a reshard runs: its new owner)."""
        return self._routing.owners[key_slot(key)]

    @property
    def layout(self) -> Layout:
        """The shard layout this client routes on; version 0 when none is published or ``service_names`` was given."""
        return self._routing

    def _layout_sources(self) -> list[tuple[str, Address]]:
        return [(name, self._shards[name].address) for name in self._routing.all_shards if name in self._shards]

    def _install_layout(self, layout: Layout) -> None:
        """Route on a newer layout; its new shards are looked up first, so a failure leaves the old one in place."""
        for name in layout.all_shards:
            if name not in self._shards:
                address = self._directory.master_address(name)
                with self._lock:
                    if name not in self._shards:
                        self._shards[name] = _Shard(name, address, self._redis_for(address))
        self._routing = layout
        self.shards = list(layout.all_shards)

    def _current_routing(self) -> Layout:
        """The layout to route a command on; raises LayoutUnavailableError once its lease ran out and a re-read fails."""
        follower = self._follower
        if follower is not None and time.monotonic() >= follower.lease_end and not follower.refresh():
            if follower.auth_failure is not None:
                raise follower.auth_failure
            raise LayoutUnavailableError(follower.lease_s, follower.last_error)
        return self._routing

    def _still_current(self, routing: Optional[Layout]) -> None:
        if routing is not None and self._current_routing() is not routing:
            raise LayoutChangedError(f"the shard layout changed to version {self._routing.version} before this command "
                                     f"was sent (planned on version {routing.version})")

    def master_for_shard(self, name: str) -> Address:
        """(host, port) of the shard's current master, as this client last learned it."""
        return self._shard(name).address

    def get_encoder(self) -> Any:
        return self._shard(self.shards[0]).client.get_encoder()

    def _shard(self, name: str) -> _Shard:
        try:
            return self._shards[name]
        except KeyError:
            raise UnknownShardError(f"unknown shard {name!r}; shards are {', '.join(sorted(self._shards))}") from None

    def _plan(self, args: Sequence[Any], transaction: bool = False, routing: Optional[Layout] = None) -> Plan:
        routing = routing or self._routing
        owners = routing.owners
        return plan_command(args, routing.all_shards, lambda keys: [owners[slot] for slot in key_slots(keys)],
                            self._command_keys.keys, transaction, self._command_keys.known)

    # command execution ---------------------------------------------------------------------
    def execute_command(self, *args: Any, **options: Any) -> Any:
        if self._closed:
            raise RedisError("this ShardedSentinelClient is closed")
        if args[0] in self._fast_commands:
            return self._fast_call(args, options)
        return self._execute(args, options)

    def _execute(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        while True:
            routing = self._current_routing()
            plan = self._plan(args, routing=routing)
            if not self._fast_commands and not self._read_from_replicas:
                fast = self.single_key_commands()
                self._fast_commands = fast - self._command_keys.write_commands() if self._durable is not None else fast
            try:
                if len(plan.parts) == 1:
                    shard, part = plan.parts[0]
                    return plan.merge([self._call(shard, part, options, routing)])
                return plan.merge(self._map_parts(plan.parts, options, routing))
            except LayoutChangedError:
                continue

    def single_key_commands(self) -> frozenset[str]:
        """Commands whose only key is their first argument (GET, SET, HSET, ...): routed by it without a plan."""
        if not self._single_keys:
            self._command_keys.keys(("PING",))
            self._single_keys = self._command_keys.single_key_commands() - SPLIT_COMMANDS.keys() - FANOUT_MERGES.keys()
        return self._single_keys

    def _fast_call(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        """Single-key command on the master: one attempt without the retry machinery, then the normal path."""
        routing = self._routing
        slot = key_slot(args[1])
        follower = self._follower
        if (routing.previous is not None and routing.is_moving(slot)) or (
                follower is not None and time.monotonic() >= follower.lease_end):
            return self._execute(args, options)
        shard = self._shards[routing.owners[slot]]
        if shard.pause.paused:
            return self._execute(args, options)
        client = shard.client
        try:
            return client.execute_command(*args, **options)
        except AuthenticationError:
            raise
        except (RedisError, OSError, ValueError, AttributeError) as exc:
            if shard.client is client and not isinstance(exc, FAILOVER_ERRORS):
                raise
        return self._execute(args, options)

    def _map_parts(self, parts: list[tuple[str, tuple[Any, ...]]], options: dict[str, Any],
                   routing: Optional[Layout] = None) -> list[Any]:
        if len(parts) < 2:
            return [self._call(shard, part, options, routing) for shard, part in parts]
        replies = self._run_batches({shard: [(part, options)] for shard, part in parts}, routing)
        results = []
        for shard, _part in parts:
            reply = replies[shard][0]
            if isinstance(reply, Exception):
                raise reply
            results.append(reply)
        return results

    def _sends_at_once(self, shard_name: str, routing: Optional[Layout]) -> bool:
        """Whether a shard's share may go out through send_at_once: no WAIT, replica or reshard handling needed, no pause."""
        return (self._durable is None and not self._read_from_replicas and (routing is None or routing.previous is None)
                and not self._shards[shard_name].pause.paused)

    def _run_batches(self, batches: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]],
                     routing: Optional[Layout] = None) -> dict[str, list[Any]]:
        """Several shards' non-transactional batches: their replies by shard, each command's error in its place.

        Written to every shard first and read after (send_at_once); a shard that failed, or needs the
        failover, WAIT, replica or reshard handling, is sent through _run_batch (worker threads if several)."""
        replies: dict[str, list[Any]] = {}
        direct = [name for name in batches if self._sends_at_once(name, routing)]
        if len(direct) > 1:
            outcomes = send_at_once([(self._shards[name].client, batches[name]) for name in direct])
            for name, outcome in zip(direct, outcomes):
                if isinstance(outcome, list) and not any(isinstance(reply, ReadOnlyError) for reply in outcome):
                    replies[name] = outcome
                elif isinstance(outcome, AuthenticationError):
                    raise outcome
        rest = [name for name in batches if name not in replies]
        if len(rest) > 1:
            futures = {name: self._pool().submit(self._run_batch, name, batches[name], False, routing) for name in rest}
            replies.update((name, future.result()) for name, future in futures.items())
        elif rest:
            replies[rest[0]] = self._run_batch(rest[0], batches[rest[0]], False, routing)
        return replies

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RedisError("this ShardedSentinelClient is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=max(2, len(self._shards)), thread_name_prefix="shardinel")
            return self._executor

    def _call(self, shard_name: str, args: tuple[Any, ...], options: dict[str, Any], routing: Optional[Layout] = None) -> Any:
        moved = False
        if routing is not None and routing.previous is not None:
            ran, reply, moved = self._pull.route(routing, args, options, self._part_keys(args), args[0] in READ_ONLY_COMMANDS)
            if ran:
                return reply
        durable = self._durable_for(args)
        if durable is not None:
            return self._with_failover(shard_name, lambda client: self._durable_call(durable, client, shard_name, args, options),
                                       routing=routing)
        read_only = self._read_from_replicas and args[0] in READ_ONLY_COMMANDS and not moved
        return self._with_failover(shard_name, lambda client: client.execute_command(*args, **options), read_only, routing)

    def _part_keys(self, args: Sequence[Any]) -> list[Any]:
        """The keys of one planned part (a split command's share; a fan-out has none)."""
        label = command_label(args)
        if label in SPLIT_COMMANDS:
            return list(args[1::2]) if label == "MSET" else list(args[1:])
        if label in FANOUT_MERGES or label in ANY_SHARD:
            return []
        return self._command_keys.keys(args)

    def _durable_for(self, args: tuple[Any, ...]) -> Optional[DurableWrites]:
        """The durability settings if this command must be acknowledged by replicas, else None."""
        return self._durable if self._durable is not None and self._command_keys.is_write(args) else None

    @staticmethod
    def _durable_call(durable: DurableWrites, client: Any, shard_name: str, args: tuple[Any, ...],
                      options: dict[str, Any]) -> Any:
        (reply,), acknowledged = durable.send(client, [(args, options)], False)
        if isinstance(reply, Exception):
            raise reply
        durable.check(acknowledged, shard_name, client, command_label(args).split(" ", 1)[0], reply)
        return reply

    def _with_failover(self, shard_name: str, action: Any, read_only: bool = False, routing: Optional[Layout] = None) -> Any:
        """Run action(client) against the shard, re-asking Sentinel and retrying on failover errors.

        Errors of any kind raised while the shard's pool was being replaced are retried at once,
        except DurabilityError: that write was sent, and is never sent twice. A command planned on
        ``routing`` that had to wait (a failover pause, a retry) raises LayoutChangedError if a newer
        layout was installed meanwhile, instead of going to a shard the new layout moved its keys from.
        """
        shard = self._shard(shard_name)
        deadline: Optional[float] = None
        delay = 0.02
        waited = False
        while True:
            if shard.pause.paused:
                self._wait_out_pause(shard)
                waited = True
            if waited:
                self._still_current(routing)
            waited = True
            client = shard.client
            try:
                if read_only:
                    replica = self._replica(shard)
                    if replica is not None:
                        try:
                            return action(replica)
                        except AuthenticationError:
                            raise
                        except (RedisConnectionError, RedisTimeoutError):
                            shard.replicas = None
                return action(client)
            except (AuthenticationError, DurabilityError):
                raise
            except (RedisError, OSError, ValueError, AttributeError) as exc:
                swapped = shard.client is not client
                if not swapped and not isinstance(exc, FAILOVER_ERRORS):
                    raise
                now = time.monotonic()
                deadline = now + self._failover_timeout if deadline is None else deadline
                if now >= deadline or self._closed:
                    raise ShardUnavailableError(shard_name, self._directory.labels, exc) from exc
                if swapped:
                    continue
                self._rediscover(shard, client)
                time.sleep(min(delay, max(0.0, deadline - now)))
                delay = min(delay * 2, 0.25)

    # failover following --------------------------------------------------------------------
    def _redis_for(self, address: Address) -> Any:
        """A redis-py client for one server; every one shares this client's response callbacks."""
        client = redis.Redis(host=address[0], port=address[1], **self._redis_kwargs)
        if self._response_callbacks is None:
            self._response_callbacks = client.response_callbacks
        else:
            client.response_callbacks = self._response_callbacks
        return client

    def _rediscover(self, shard: _Shard, stale_client: Any) -> None:
        if shard.client is not stale_client:
            return
        try:
            address = self._directory.master_address(shard.name)
        except AuthenticationError:
            raise
        except RedisError:
            return
        self._set_master(shard.name, address)

    def _set_master(self, name: str, address: Address) -> None:
        shard = self._shards.get(name)
        if shard is None or self._closed:
            return
        with shard.lock:
            if shard.address == address:
                return
            old_client, old_replicas = shard.client, shard.replicas or []
            shard.client = self._redis_for(address)
            shard.address = address
            shard.replicas = None
        old_client.close()
        for replica in old_replicas:
            replica.close()

    def _resync(self) -> None:
        with self._resync_lock:
            for name in list(self._shards):
                try:
                    self._set_master(name, self._directory.master_address(name))
                except RedisError:
                    continue

    def _on_switch(self, name: str, address: Address) -> None:
        self._set_master(name, address)
        shard = self._shards.get(name)
        if shard is not None:
            shard.pause.release_all()

    def _on_failover_start(self, name: str, master: Address, sentinel: str) -> None:
        """Hold the shard's commands unless the client already left the master being replaced."""
        shard = self._shards.get(name)
        if shard is not None and not self._closed and shard.address == master:
            shard.pause.hold(sentinel, self._failover_timeout)

    def _on_failover_abort(self, name: str, master: Address, sentinel: str) -> None:
        del master
        shard = self._shards.get(name)
        if shard is None or not shard.pause.holds(sentinel):
            return
        self._ask_master(shard)
        shard.pause.release(sentinel)

    def _ask_master(self, shard: _Shard) -> None:
        try:
            self._set_master(shard.name, self._directory.master_address(shard.name))
        except RedisError:
            return

    def _wait_out_pause(self, shard: _Shard) -> None:
        """Block while a failover holds the shard; past the deadline one waiter re-asks the Sentinels and releases it."""
        pause = shard.pause
        while pause.paused and not self._closed:
            if pause.wait(min(pause.deadline - time.monotonic(), self._failover_timeout)):
                break
            if pause.claim_expiry():
                try:
                    self._ask_master(shard)
                finally:
                    pause.release_all()
            else:
                pause.wait(0.05)
        if self._closed:
            raise RedisError("this ShardedSentinelClient is closed")

    def _ready_shard(self, name: str) -> _Shard:
        """The shard, once no failover holds it (for callers that use its redis-py client directly)."""
        shard = self._shard(name)
        if shard.pause.paused:
            self._wait_out_pause(shard)
        return shard

    def _replica(self, shard: _Shard) -> Any:
        replicas = shard.replicas
        if replicas is None:
            try:
                addresses = [a for a in self._directory.replica_addresses(shard.name) if a != shard.address]
            except RedisError:
                addresses = []
            with shard.lock:
                old, shard.replicas = shard.replicas or [], [self._redis_for(a) for a in addresses]
                replicas = shard.replicas
            for client in old:
                client.close()
        if not replicas:
            return None
        shard.next_replica = (shard.next_replica + 1) % len(replicas)
        return replicas[shard.next_replica]

    def wait_for_switch_listener(self, timeout: float = 5.0) -> bool:
        """Wait until every Sentinel's event subscription was attempted; True if at least one is active.

        Always False without follow_switch_events.
        """
        return self._listener is not None and self._listener.wait_subscribed(timeout)

    @property
    def subscribed_sentinels(self) -> list[str]:
        """"host:port" of the Sentinels whose failover events this client follows right now."""
        return self._listener.subscribed_sentinels if self._listener is not None else []

    @property
    def sentinels_without_failover_events(self) -> list[str]:
        """Subscribed Sentinels whose ACL allows +switch-master only: their failovers are followed but not paused for."""
        return self._listener.limited_sentinels if self._listener is not None else []

    # key table -----------------------------------------------------------------------------
    def _command_table(self) -> dict[str, Any]:
        return self._with_failover(self.shards[0], lambda client: client.command())  # type: ignore[no-any-return]

    def _getkeys(self, *words: Any) -> list[Any]:
        return self._with_failover(self.shards[0], lambda client: client.execute_command("COMMAND GETKEYS", *words))  # type: ignore[no-any-return]

    # commands with shard-aware meaning -----------------------------------------------------
    def scan(self, cursor: int = 0, match: Any = None, count: Optional[int] = None, _type: Optional[str] = None,  # type: ignore[override]
             **kwargs: Any) -> tuple[int, list[Any]]:
        """SCAN over every shard in turn; the cursor is inner_cursor * shard_count + shard_index.

        A call that finishes a shard goes on with the next one until it has ``count`` (default 10) keys, so
        that a small keyspace comes back in one call, as from one server."""
        total = len(self.shards)
        index, inner = int(cursor) % total, int(cursor) // total
        options: list[Any] = []
        if match is not None:
            options += ["MATCH", match]
        if count is not None:
            options += ["COUNT", count]
        if _type is not None:
            options += ["TYPE", _type]
        found: list[Any] = []
        while True:
            next_inner, keys = self._call(self.shards[index], ("SCAN", inner, *options), kwargs)
            found.extend(keys)
            if int(next_inner) != 0:
                return int(next_inner) * total + index, found
            index, inner = index + 1, 0
            if index == total:
                return 0, found
            if len(found) >= (count or 10):
                return index, found

    def pipeline(self, transaction: bool = True, shard_hint: Optional[str] = None) -> "ShardedPipeline":
        """A pipeline, as redis-py's: ``transaction=True`` (the default) is one MULTI/EXEC, so its keys must be on
        one shard (CrossShardError otherwise); ``transaction=False`` batches across shards, in parallel, results in
        call order."""
        return ShardedPipeline(self, transaction, shard_hint)

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

    def lock(self, name: Any, timeout: Optional[float] = None, sleep: float = 0.1,  # pylint: disable=too-many-arguments
             blocking: bool = True, blocking_timeout: Optional[float] = None, lock_class: Any = None,
             thread_local: bool = True, raise_on_release_error: bool = True) -> Any:
        """redis-py's Lock (or ``lock_class``) on the shard that holds ``name``: its scripts are loaded on every shard."""
        options: dict[str, Any] = {"timeout": timeout, "sleep": sleep, "blocking": blocking,
                                   "blocking_timeout": blocking_timeout, "thread_local": thread_local}
        if raise_on_release_error is not True:
            options["raise_on_release_error"] = raise_on_release_error
        return (lock_class or Lock)(self, name, **options)

    def pubsub(self, **kwargs: Any) -> ShardedPubSub:
        """redis-py's PubSub: channels and patterns on one shard's master (PUBLISH reaches every shard), shard
        channels on the shard that owns each (see pubsub.ShardedPubSub)."""
        routing = self._routing
        home = routing.shards[next(self._pubsub_turn) % len(routing.shards)]
        return ShardedPubSub(home, self.shard_for, lambda name: self._ready_shard(name).client.connection_pool, **kwargs)

    def monitor(self, shard: Optional[str] = None) -> Any:
        """redis-py's Monitor on one shard's master; ``shard`` may be left out when there is only one."""
        if shard is None:
            if len(self.shards) != 1:
                raise ValueError(f"monitor() watches one server: name the shard, one of {', '.join(self.shards)}")
            shard = self.shards[0]
        return Monitor(self._ready_shard(shard).client.connection_pool)

    def shard_client(self, name: str) -> Any:
        """The redis-py Redis client of the shard's current master, for commands about that one server (INFO,
        CONFIG, CLIENT, ...). It does not follow a later failover: ask again for the new master's."""
        return self._ready_shard(name).client

    @property
    def connection_pool(self) -> ShardConnectionPools:
        """Each shard's redis-py ConnectionPool by shard name (``client.connection_pool["shard1"]``), with the
        pool methods that apply to all of them (disconnect, reset, get_encoder, connection_kwargs)."""
        return ShardConnectionPools(self)

    def get_connection_kwargs(self) -> dict[str, Any]:
        """The redis-py connection arguments every shard's connections share (host and port differ)."""
        return self.connection_pool.connection_kwargs

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
        for shard in list(self._shards.values()):
            shard.client.set_retry(retry)
            for replica in shard.replicas or []:
                replica.set_retry(retry)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "ShardedSentinelClient":
        """A client from "redis+sentinel://user:password@host:port,host:port/db?sentinel_username=...": see client_url.
        Keyword arguments override the URL's."""
        sentinels, options = parse_client_url(url)
        options.update(kwargs)
        return cls(sentinels, **options)

    def _run_batch(self, shard_name: str, commands: list[tuple[tuple[Any, ...], dict[str, Any]]], transaction: bool,
                   routing: Optional[Layout] = None) -> list[Any]:
        """One shard's share of a pipeline; with durable_writes, a batch that writes ends with WAIT."""
        if routing is not None and routing.previous is not None:
            self._pull.pull(routing, [key for args, _options in commands for key in self._part_keys(args)])
        durable = self._durable
        if durable is not None and not any(self._command_keys.is_write(args) for args, _options in commands):
            durable = None

        def run(client: Any) -> list[Any]:
            results: list[Any]
            if durable is not None:
                results, acknowledged = durable.send(client, commands, transaction)
            else:
                pipe = client.pipeline(transaction=transaction)
                try:
                    for args, options in commands:
                        pipe.execute_command(*args, **options)
                    results = pipe.execute(raise_on_error=False)
                finally:
                    pipe.reset()
            for result in results:
                if isinstance(result, ReadOnlyError):
                    raise result
            if durable is not None:
                durable.check(acknowledged, shard_name, client, describe(commands, transaction), results)
            return results
        return self._with_failover(shard_name, run, routing=routing)  # type: ignore[no-any-return]

    # lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the listener thread and worker threads, and close every connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            executor, self._executor = self._executor, None
        for shard in list(self._shards.values()):
            shard.pause.release_all()
        if self._follower is not None:
            self._follower.stop()
        if self._listener is not None:
            self._listener.stop()
        if executor is not None:
            executor.shutdown(wait=True)
        for shard in list(self._shards.values()):
            shard.client.close()
            for replica in shard.replicas or []:
                replica.close()
        self._directory.close()

    def __enter__(self) -> "ShardedSentinelClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ShardedSentinelClient shards={getattr(self, 'shards', [])} sentinels={self._directory.labels}>"


DisredisClient = ShardedSentinelClient

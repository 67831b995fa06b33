"""The state and decisions that the sync and the asyncio client share (no I/O here).

ClientCore holds each shard's master and replica clients (made by the shell: redis-py's or redis.asyncio's), their
failover pauses, the layout the client routes on with its lease, and the command table. It plans commands and
answers what a shell asks around its I/O: which shard a key is on, whether a command may go out at once without a
plan, whether an error means a failover. Its procedures (generators, see effects) start the client and follow the
layout; failover_steps, command_steps, key_pull and pipeline_steps hold the others.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable, Optional, Sequence

from .addresses import Address
from .client_arguments import ClientSettings, replica_shortage
from .command_keys import CommandKeys
from .command_plans import FANOUT_MERGES, SPLIT_COMMANDS, Plan, plan_command
from .durability import DurableWrites
from .effects import Procedure
from .errors import LayoutChangedError, LayoutUnavailableError, UnknownShardError
from .failover_pause import FailoverPause
from .layout import Layout
from .layout_follower import LayoutFollower, reader_kwargs
from .redis_import import AuthenticationError, ReadOnlyError, RedisConnectionError, RedisError, RedisTimeoutError
from .sentinel_directory import SentinelDirectory
from .slots import key_slot, key_slots

FAILOVER_ERRORS = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)
READ_ONLY_COMMANDS = frozenset({
    "GET", "MGET", "STRLEN", "GETRANGE", "SUBSTR", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME",
    "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HRANDFIELD", "HSCAN",
    "LRANGE", "LLEN", "LINDEX", "LPOS", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER", "SSCAN",
    "SINTER", "SUNION", "SDIFF", "SINTERCARD", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZSCORE",
    "ZMSCORE", "ZCARD", "ZCOUNT", "ZRANK", "ZREVRANK", "ZSCAN", "ZLEXCOUNT", "ZRANGEBYLEX", "ZREVRANGEBYLEX",
    "GETBIT", "BITCOUNT", "BITPOS", "PFCOUNT", "XRANGE", "XREVRANGE", "XLEN", "DUMP", "OBJECT", "GEOPOS", "GEODIST",
    "GEOHASH", "GEOSEARCH",
})


class Shard:
    """Where one shard's master is now, with one redis-py client (one pool) for it, plus replica clients."""

    __slots__ = ("name", "address", "client", "replicas", "next_replica", "lock", "pause")

    def __init__(self, name: str, address: Address, client: Any, pause: FailoverPause) -> None:
        self.name = name
        self.address = address
        self.client = client
        self.replicas: Optional[list[Any]] = None
        self.next_replica = 0
        self.lock = threading.Lock()
        self.pause = pause


class ClientCore:  # pylint: disable=too-many-instance-attributes
    """One client's shards and routing. ``new_client(address)`` makes a redis-py client for a Redis server,
    ``new_reader(address, kwargs)`` one with these arguments (layout reads), ``new_event()`` the event a
    FailoverPause waits on; each shell gives its own."""

    def __init__(self, settings: ClientSettings, new_client: Callable[[Address], Any],
                 new_reader: Callable[[Address, dict[str, Any]], Any], new_event: Callable[[], Any]) -> None:
        self.settings = settings
        self.failover_timeout = settings.failover_timeout
        self.read_from_replicas = settings.read_from_replicas
        self.durable: Optional[DurableWrites] = settings.durable
        self.directory = SentinelDirectory(settings.addresses, settings.sentinel_username, settings.sentinel_password,
                                           settings.sentinel_socket_timeout, settings.sentinel_kwargs)
        self.new_client = new_client
        self._new_reader = new_reader
        self._new_event = new_event
        self.shards: dict[str, Shard] = {}
        self.routing: Layout = None  # type: ignore[assignment]  # set by start()
        self.names: list[str] = []
        self.follower: Optional[LayoutFollower] = None
        self.command_keys = CommandKeys()
        self.fast_commands: frozenset[str] = frozenset()
        self.single_keys: frozenset[str] = frozenset()
        self.marked: set[tuple[int, str]] = set()  # (layout version, previous owner) marked for key pulls
        self.pubsub_turn = itertools.count()
        self.closed = False
        self.lock = threading.Lock()

    # shards and their masters ----------------------------------------------------------------
    def shard(self, name: str) -> Shard:
        try:
            return self.shards[name]
        except KeyError:
            raise UnknownShardError(f"unknown shard {name!r}; shards are {', '.join(sorted(self.shards))}") from None

    def add_shard(self, name: str, address: Address) -> None:
        with self.lock:
            if name not in self.shards:
                self.shards[name] = Shard(name, address, self.new_client(address), FailoverPause(self._new_event()))

    def set_master(self, name: str, address: Address) -> list[Any]:
        """Point the shard at a new master; the replaced clients (master and replicas), for the shell to close."""
        shard = self.shards.get(name)
        if shard is None or self.closed:
            return []
        with shard.lock:
            if shard.address == address:
                return []
            old = [shard.client] + (shard.replicas or [])
            shard.client = self.new_client(address)
            shard.address = address
            shard.replicas = None
        return old

    def set_replicas(self, shard: Shard, addresses: list[Address]) -> list[Any]:
        """Replica clients for these addresses (the master's own left out); the ones they replace, to close."""
        with shard.lock:
            old = shard.replicas or []
            shard.replicas = [self.new_client(a) for a in addresses if a != shard.address]
        return old

    @staticmethod
    def next_replica(shard: Shard) -> Any:
        """The next replica client in turn, or None when the shard has none."""
        replicas = shard.replicas
        if not replicas:
            return None
        shard.next_replica = (shard.next_replica + 1) % len(replicas)
        return replicas[shard.next_replica]

    def close(self) -> bool:
        """Mark the core closed (commands raise, waiters stop waiting); False if it already was."""
        with self.lock:
            if self.closed:
                return False
            self.closed = True
        for shard in list(self.shards.values()):
            shard.pause.release_all()
        return True

    def take_clients(self) -> list[Any]:
        """Every client the core made (masters, replicas, layout readers), for the shell to close once closed."""
        clients: list[Any] = []
        for shard in list(self.shards.values()):
            clients.append(shard.client)
            clients.extend(shard.replicas or [])
        if self.follower is not None:
            clients.extend(self.follower.take_readers())
        return clients

    def closed_error(self, what: str = "ShardedSentinelClient") -> RedisError:
        return RedisError(f"this {what} is closed")

    # routing --------------------------------------------------------------------------------
    def shard_for(self, key: Any) -> str:
        return self.routing.owners[key_slot(key)]

    def layout_sources(self) -> list[tuple[str, Address]]:
        return [(name, self.shards[name].address) for name in self.routing.all_shards if name in self.shards]

    def plan(self, args: Sequence[Any], transaction: bool = False, routing: Optional[Layout] = None,
             server_keys: Optional[Sequence[Any]] = None) -> Plan:
        """The command's parts on ``routing`` (the current layout if None); ``server_keys`` is COMMAND GETKEYS's
        reply for a command with movable keys (see command_steps.plan)."""
        routing = routing or self.routing
        owners = routing.owners
        keys = self.command_keys
        return plan_command(args, routing.all_shards, lambda found: [owners[slot] for slot in key_slots(found)],
                            lambda words: keys.keys(words, server_keys), transaction, keys.known)

    def durable_for(self, args: Sequence[Any]) -> Optional[DurableWrites]:
        """The durability settings if this command must be acknowledged by replicas, else None."""
        return self.durable if self.durable is not None and self.command_keys.is_write(args) else None

    def single_key_set(self) -> frozenset[str]:
        """Once the command table is loaded: commands whose only key is their first argument (GET, SET, HSET, ...)."""
        if not self.single_keys:
            self.single_keys = self.command_keys.single_key_commands() - SPLIT_COMMANDS.keys() - FANOUT_MERGES.keys()
        return self.single_keys

    def update_fast_commands(self) -> None:
        """Once the command table is loaded: the commands that go out without a plan (single-key ones, on the master)."""
        if self.fast_commands or self.read_from_replicas:
            return
        fast = self.single_key_set()
        self.fast_commands = fast - self.command_keys.write_commands() if self.durable is not None else fast

    def fast_shard(self, args: Sequence[Any]) -> Optional[Shard]:
        """The shard a command may be sent to at once, or None when it takes the full path: it is not a single-key
        command on the master, its slot is moving, the layout's lease ran out, or a failover holds the shard.
        Raises the closed client's error."""
        if self.closed:
            raise self.closed_error()
        if args[0] not in self.fast_commands or len(args) < 2:
            return None
        routing = self.routing
        slot = key_slot(args[1])
        follower = self.follower
        if (routing.previous is not None and routing.is_moving(slot)) or (
                follower is not None and time.monotonic() >= follower.lease_end):
            return None
        shard = self.shards[routing.owners[slot]]
        return None if shard.pause.paused else shard

    @staticmethod
    def retry_on_full_path(shard: Shard, client: Any, error: BaseException) -> bool:
        """Whether a command that failed on the fast path goes through the full path (failover handling) rather
        than raising: after a failover error, or any error while the shard's client was being replaced."""
        if isinstance(error, AuthenticationError):
            return False
        return shard.client is not client or isinstance(error, FAILOVER_ERRORS)

    def sends_at_once(self, shard_name: str, routing: Optional[Layout]) -> bool:
        """Whether a shard's share of a batch may go out with the others at once: no WAIT, replica or reshard
        handling needed, no pause."""
        return (self.durable is None and not self.read_from_replicas and (routing is None or routing.previous is None)
                and not self.shards[shard_name].pause.paused)

    # start and layout ----------------------------------------------------------------------
    def start(self) -> Procedure:
        """Find the shards and their masters, read the layout, check durable_writes against the replica counts."""
        settings = self.settings
        names = settings.service_names
        if names is None:
            names = yield from self.directory.shard_names()
        for name in names:
            address = yield from self.directory.master_address(name)
            self.add_shard(name, address)
        if not self.shards:
            raise UnknownShardError(f"the Sentinels at {', '.join(self.directory.labels)} monitor no masters")
        self.routing = Layout(0, self.shards)
        self.names = list(self.routing.all_shards)
        if settings.service_names is None:
            kwargs = reader_kwargs(settings.redis_kwargs, min(settings.sentinel_socket_timeout, 1.0))
            self.follower = LayoutFollower(self.layout_sources, lambda address: self._new_reader(address, kwargs),
                                           self.install_layout)
            yield from self.follower.refresh()
        if self.durable is not None:
            counts = {}
            for name in self.names:
                counts[name] = yield from self.directory.replica_count(name)
            error = replica_shortage(self.durable.replicas, counts)
            if error is not None:
                raise error

    def install_layout(self, layout: Layout) -> Procedure:
        """Route on a newer layout; its new shards are looked up first, so a failure leaves the old one in place."""
        for name in layout.all_shards:
            if name not in self.shards:
                address = yield from self.directory.master_address(name)
                self.add_shard(name, address)
        self.routing = layout
        self.names = list(layout.all_shards)

    def current_routing(self) -> Procedure:
        """The layout to route a command on; raises LayoutUnavailableError once its lease ran out and a re-read fails."""
        follower = self.follower
        if follower is not None and time.monotonic() >= follower.lease_end and not (yield from follower.refresh()):
            if follower.auth_failure is not None:
                raise follower.auth_failure
            raise LayoutUnavailableError(follower.lease_s, follower.last_error)
        return self.routing

    def still_current(self, routing: Optional[Layout]) -> Procedure:
        """LayoutChangedError if a newer layout than ``routing`` (the one a command was planned on) was installed."""
        if routing is not None and (yield from self.current_routing()) is not routing:
            raise LayoutChangedError(f"the shard layout changed to version {self.routing.version} before this command "
                                     f"was sent (planned on version {routing.version})")

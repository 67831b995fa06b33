"""While a reshard runs: where a command on a moving slot goes, and moving its keys to their new owner first.

Clients learn a migrating layout at different moments, up to its lease apart, and a client that still
routes on the previous layout writes to the previous owner. So nobody moves a key off a previous owner
before the reshard step marks it (layout.MOVING_KEY, set once the lease has passed). Until then a command
whose moving keys all live on one previous owner runs there, inside a script that first reads the mark
(one round trip, atomic with the command); other commands, pipelines and transactions wait for the mark.

Once the owner is marked, the keys are pulled: MIGRATE (no COPY, no REPLACE) moves them atomically on the
previous owner, which blocks while the new owner restores them, so a key is never lost between the two
and a delete that follows cannot be undone by a copy in flight. NOKEY: nothing was there (moved already,
or no such key). BUSYKEY: the new owner holds a newer copy (written there after the mark), so the
previous owner's copy is stale and is deleted. The reshard step copies with the same rule, so neither
ever replaces a newer value.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from .errors import LayoutUnavailableError, ShardUnavailableError
from .layout import LAYOUT_DB, LEASE_MARGIN_S, MOVING_KEY, Layout
from .redis_import import ResponseError
from .slots import key_slot

# MIGRATE's errors that come from the new owner: it is failing over, restarting or unreachable.
TARGET_FAILOVER_ERRORS = ("IOERR", "READONLY", "LOADING", "MASTERDOWN", "Connection refused")
MOVE_ROUNDS = 3
MOVING_REPLY = "SHARDINELMOVING"
# ARGV: layout db, layout version, the application's db, then the command (none: only read the mark).
GUARD_SCRIPT = (
    "redis.call('SELECT', ARGV[1]) "
    f"local moving = redis.call('GET', '{MOVING_KEY}') "
    f"if moving and tonumber(moving) >= tonumber(ARGV[2]) then return {{err = '{MOVING_REPLY}'}} end "
    "redis.call('SELECT', ARGV[3]) "
    "if #ARGV == 3 then return 0 end "
    "return redis.call(unpack(ARGV, 4))"
)
Groups = dict[tuple[str, str], list[Any]]


class KeyPull:
    """``client`` is the ShardedSentinelClient whose shards, failover handling and credentials are used."""

    def __init__(self, client: Any, db: int, username: Optional[str], password: Optional[str], timeout_s: float,
                 failover_timeout: float) -> None:
        self._client = client
        self._db = db
        self._auth: tuple[Any, ...] = ()
        if password is not None:
            self._auth = ("AUTH2", username, password) if username else ("AUTH", password)
        self._timeout_ms = max(1, int(timeout_s * 1000))
        self._failover_timeout = failover_timeout
        self._marked: set[tuple[int, str]] = set()

    @staticmethod
    def moving_groups(routing: Layout, keys: list[Any]) -> Groups:
        """(previous owner, new owner) -> the keys in slots that move between them."""
        groups: Groups = {}
        for key in keys:
            slot = key_slot(key)
            if routing.is_moving(slot):
                groups.setdefault((routing.previous_owners[slot], routing.owners[slot]), []).append(key)
        return groups

    def route(self, routing: Layout, args: tuple[Any, ...], options: dict[str, Any], keys: list[Any],
              read_only: bool = False) -> tuple[bool, Any, bool]:
        """For one command: (ran, its reply, keys were pulled). ran is True when it already ran, on either owner."""
        groups = self.moving_groups(routing, keys)
        if not groups:
            return False, None, False
        sources = {old for old, _new in groups}
        pending = [source for source in sources if (routing.version, source) not in self._marked]
        if not pending and read_only and len(keys) == 1:
            found, reply = self._read_moved(routing, next(iter(groups))[1], keys[0], args, options)
            if found:
                return True, reply, False
        if pending:
            if len(sources) == 1 and sum(len(moving) for moving in groups.values()) == len(keys):
                ran, reply = self._run_on_previous_owner(routing, pending[0], args, options)
                if ran:
                    return True, reply, False
            else:
                self.wait_for_marks(routing, pending)
        self._pull_groups(routing, groups)
        return False, None, True

    def _read_moved(self, routing: Layout, new: str, key: Any, args: tuple[Any, ...],
                    options: dict[str, Any]) -> tuple[bool, Any]:
        """A read of one key whose previous owner is marked: on the new owner, if the key is there already.

        Once marked, the previous owner takes no write, so a copy on the new owner is the newest one."""
        def read(redis_client: Any) -> list[Any]:
            pipe = redis_client.pipeline(transaction=False)
            pipe.exists(key)
            pipe.execute_command(*args, **options)
            return pipe.execute(raise_on_error=False)  # type: ignore[no-any-return]

        exists, reply = self._client._with_failover(new, read, routing=routing)  # pylint: disable=protected-access
        if not int(exists):
            return False, None
        if isinstance(reply, Exception):
            raise reply
        return True, reply

    def pull(self, routing: Layout, keys: list[Any]) -> None:
        """For pipelines and transactions: wait for the previous owners' marks, then move the keys."""
        groups = self.moving_groups(routing, keys)
        pending = [old for old, _new in groups if (routing.version, old) not in self._marked]
        if pending:
            self.wait_for_marks(routing, sorted(set(pending)))
        self._pull_groups(routing, groups)

    def _guard(self, routing: Layout, source: str, command: tuple[Any, ...], durable: Any = None) -> Any:
        client = self._client
        script = ("EVAL", GUARD_SCRIPT, 0, LAYOUT_DB, routing.version, self._db, *command)
        if durable is not None:
            return client._with_failover(  # pylint: disable=protected-access
                source, lambda redis_client: client._durable_call(durable, redis_client, source, script, {}),  # pylint: disable=protected-access
                routing=routing)
        return client._with_failover(source, lambda redis_client: redis_client.execute_command(*script),  # pylint: disable=protected-access
                                     routing=routing)

    def _run_on_previous_owner(self, routing: Layout, source: str, args: tuple[Any, ...],
                               options: dict[str, Any]) -> tuple[bool, Any]:
        try:
            reply = self._guard(routing, source, args, self._client._durable_for(args))  # pylint: disable=protected-access
        except ResponseError as exc:
            if MOVING_REPLY not in str(exc):
                raise
            self._marked.add((routing.version, source))
            return False, None
        name = str(args[0]).upper()
        callback = self._client._shard(source).client.response_callbacks.get(name)  # pylint: disable=protected-access
        return True, (callback(reply, **options) if callback is not None else reply)

    def wait_for_marks(self, routing: Layout, sources: list[str]) -> None:
        """Until the reshard step marked every source; it does so lease + margin after it published the layout."""
        deadline = time.monotonic() + routing.lease_s + LEASE_MARGIN_S + self._failover_timeout
        for source in sources:
            while (routing.version, source) not in self._marked:
                try:
                    self._guard(routing, source, ())
                except ResponseError as exc:
                    if MOVING_REPLY not in str(exc):
                        raise
                    self._marked.add((routing.version, source))
                    break
                if time.monotonic() >= deadline:
                    raise LayoutUnavailableError(routing.lease_s, f"the reshard to layout version {routing.version} has not "
                                                 f"started moving keys off shard {source!r}; a pipeline or transaction on "
                                                 "its moving keys waits for that (re-run the reshard step if it stopped)")
                time.sleep(0.05)

    def _pull_groups(self, routing: Layout, groups: Groups) -> None:
        for (old, new), moving in groups.items():
            self._move(old, new, moving, routing)

    def _move(self, old: str, new: str, keys: list[Any], routing: Layout) -> None:
        client = self._client
        target = client._shard(new)  # pylint: disable=protected-access
        deadline: Optional[float] = None
        rounds = 0
        while True:
            host, port = target.address
            command = ("MIGRATE", host, port, "", self._db, self._timeout_ms, *self._auth, "KEYS", *keys)
            try:
                client._with_failover(old, lambda redis_client: redis_client.execute_command(*command),  # pylint: disable=protected-access
                                      routing=routing)
                return
            except ResponseError as exc:
                text = str(exc)
                if "BUSYKEY" in text and rounds < MOVE_ROUNDS:
                    rounds += 1
                    self._drop_stale(old, new, keys, routing)
                    continue
                if not any(marker in text for marker in TARGET_FAILOVER_ERRORS):
                    raise
                now = time.monotonic()
                deadline = now + self._failover_timeout if deadline is None else deadline
                if now >= deadline:
                    raise ShardUnavailableError(new, client._directory.labels, exc) from exc  # pylint: disable=protected-access
                client._rediscover(target, target.client)  # pylint: disable=protected-access
                time.sleep(0.05)

    def _drop_stale(self, old: str, new: str, keys: list[Any], routing: Layout) -> None:
        """Delete on the previous owner the keys that the new owner already holds."""
        client = self._client

        def exists_each(redis_client: Any) -> list[Any]:
            pipe = redis_client.pipeline(transaction=False)
            for key in keys:
                pipe.exists(key)
            return pipe.execute()  # type: ignore[no-any-return]

        held = client._with_failover(new, exists_each, routing=routing)  # pylint: disable=protected-access
        stale = [key for key, count in zip(keys, held) if int(count)]
        if stale:
            client._with_failover(old, lambda redis_client: redis_client.delete(*stale), routing=routing)  # pylint: disable=protected-access

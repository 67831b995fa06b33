"""ShardedPipeline: queues commands, sends each shard's share as one redis-py pipeline, in parallel."""

from __future__ import annotations

from typing import Any, Optional

from .command_keys import command_words
from .command_plans import Plan
from .durability import HeldConnectionPool, describe, held_pipeline
from .errors import CrossShardError
from .redis_import import CoreCommands, ResponseError
from .slots import key_slot


class ShardedPipeline(CoreCommands):
    """Results come back in call order. Split commands (MGET, DEL, ...) are split here too.

    ``wait(numreplicas, timeout)`` goes to the shards of the commands queued before it, so
    ``pipe.set(k, v).wait(1, 100)`` is a write acknowledged by a replica.
    With ``transaction=True`` (MULTI/EXEC) or after ``watch()``, every key must be on one shard;
    WATCH binds the pipeline to the watched keys' shard and then behaves like redis-py's Pipeline.
    With the client's ``durable_writes``, each shard's batch that writes ends with a WAIT (after
    EXEC for a transaction); after ``watch()`` the pipeline keeps its connection until reset, so
    that writes made before ``multi()`` are waited for at once and queued ones after EXEC.
    """

    _event_dispatcher: Any = None

    def __init__(self, client: Any, transaction: bool = False) -> None:
        self._client = client
        self._transaction = transaction
        self._queue: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._bound: Optional[str] = None
        self._inner: Any = None
        self._held: Optional[HeldConnectionPool] = None
        self._held_client: Any = None
        self._queued_writes = 0

    def __len__(self) -> int:
        return len(self._inner) if self._inner is not None else len(self._queue)

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> "ShardedPipeline":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.reset()

    def get_encoder(self) -> Any:
        return self._client.get_encoder()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if self._inner is not None:
            self._check_bound(args)
            reply = self._inner.execute_command(*args, **options)
            if self._held is not None and self._client._durable_for(args) is not None:  # pylint: disable=protected-access
                if self._inner.explicit_transaction:
                    self._queued_writes += 1
                else:
                    self._wait_on_held(str(command_words(args)[0]).upper(), reply)
            return reply
        self._queue.append((args, options))
        return self

    def _wait_on_held(self, command: str, results: Any) -> None:
        """WAIT on the WATCH connection for the writes made on it; DurabilityError if too few replicas confirm."""
        durable, client = self._client._durable, self._held_client  # pylint: disable=protected-access
        durable.check(durable.wait(client, self._held), str(self._bound), client, command, results)

    def _check_bound(self, args: tuple[Any, ...]) -> None:
        routing = self._client._current_routing()  # pylint: disable=protected-access
        plan = self._client._plan(args, True, routing)  # pylint: disable=protected-access
        shards = {shard for shard, _part in plan.parts}
        if shards != {self._bound}:
            raise CrossShardError(str(args[0]), shards | {str(self._bound)})
        self._pull(routing, self._client._part_keys(args))  # pylint: disable=protected-access

    def _pull(self, routing: Any, keys: list[Any]) -> None:
        """While a reshard runs, a WATCH pipeline's keys are moved to their new owner before it uses them."""
        if routing.previous is not None:
            self._client._pull.pull(routing, keys)  # pylint: disable=protected-access

    def watch(self, *names: Any) -> Any:
        routing = self._client._current_routing()  # pylint: disable=protected-access
        self._pull(routing, list(names))
        shards = {routing.owners[key_slot(name)] for name in names}
        if self._bound is not None:
            shards.add(self._bound)
        if len(shards) != 1:
            raise CrossShardError("WATCH", shards)
        if self._inner is None:
            self._bound = shards.pop()
            shard = self._client._ready_shard(self._bound)  # pylint: disable=protected-access
            if self._client._durable is not None:  # pylint: disable=protected-access
                self._held_client = shard.client
                self._inner, self._held = held_pipeline(shard.client, True)
            else:
                self._inner = shard.client.pipeline(transaction=True)
        return self._inner.watch(*names)

    def unwatch(self) -> Any:
        return self._inner.unwatch() if self._inner is not None else True

    def multi(self) -> None:
        if self._inner is not None:
            self._inner.multi()
        else:
            self._transaction = True

    def reset(self) -> None:  # type: ignore[override]
        self._queue = []
        if self._inner is not None:
            self._inner.reset()
        if self._held is not None:
            self._held.close()
        self._inner = None
        self._held = self._held_client = None
        self._queued_writes = 0
        self._bound = None

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            if self._inner is not None:
                return self._execute_inner(raise_on_error)
            return self._execute_queue(raise_on_error)
        finally:
            self.reset()

    def _execute_inner(self, raise_on_error: bool) -> list[Any]:
        """EXEC of a WATCH pipeline; queued writes are then waited for, also when one of them failed."""
        label = describe(self._inner.command_stack, True)
        try:
            results: list[Any] = self._inner.execute(raise_on_error=raise_on_error)
        except ResponseError as exc:
            if self._queued_writes:
                self._wait_on_held(label, exc)
            raise
        if self._queued_writes:
            self._wait_on_held(label, results)
        return results

    @staticmethod
    def _wait_plan(args: tuple[Any, ...], shards: list[str]) -> Plan:
        """WAIT goes to every shard written to earlier in this pipeline (same connection); reply = fewest acks."""
        return Plan([(shard, tuple(args)) for shard in shards], lambda replies: min((int(r) for r in replies), default=0))

    def _execute_queue(self, raise_on_error: bool) -> list[Any]:
        client = self._client
        routing = client._current_routing()  # pylint: disable=protected-access
        plans = []
        seen: dict[str, None] = {}
        for args, _options in self._queue:
            if str(args[0]).upper() == "WAIT":
                plan = self._wait_plan(args, list(seen))
            else:
                plan = client._plan(args, self._transaction, routing)  # pylint: disable=protected-access
            seen.update((shard, None) for shard, _part in plan.parts)
            plans.append(plan)
        if self._transaction:
            shards = {shard for plan in plans for shard, _part in plan.parts}
            if len(shards) > 1:
                raise CrossShardError("MULTI/EXEC", shards)
        batches: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
        slots: list[list[tuple[str, int]]] = []
        for plan, (_args, options) in zip(plans, self._queue):
            where = []
            for shard, part in plan.parts:
                batch = batches.setdefault(shard, [])
                where.append((shard, len(batch)))
                batch.append((part, options))
            slots.append(where)
        order = list(batches)
        if len(order) > 1:
            pool = client._pool()  # pylint: disable=protected-access
            futures = [pool.submit(client._run_batch, s, batches[s], self._transaction, routing)  # pylint: disable=protected-access
                       for s in order]
            replies = dict(zip(order, [f.result() for f in futures]))
        else:
            replies = {s: client._run_batch(s, batches[s], self._transaction, routing)  # pylint: disable=protected-access
                       for s in order}
        results: list[Any] = []
        for plan, where in zip(plans, slots):
            parts = [replies[shard][index] for shard, index in where]
            error = next((p for p in parts if isinstance(p, Exception)), None)
            results.append(error if error is not None else plan.merge(parts))
        if raise_on_error:
            for result in results:
                if isinstance(result, Exception):
                    raise result
        return results

"""ShardedPipeline: queues commands, sends each shard's share as one redis-py pipeline, in parallel."""

from __future__ import annotations

from typing import Any, Optional

from .command_keys import command_words
from .command_plans import Plan, command_label, transaction_shard
from .durability import HeldConnectionPool, describe, held_pipeline
from .errors import CrossShardError, annotate_pipeline_error
from .redis_import import Pipeline, RedisError, ResponseError
from .slots import key_slot


def _identity(replies: list[Any]) -> Any:
    return replies[0]


class ShardedPipeline(Pipeline):  # type: ignore[misc]
    """redis-py's Pipeline over shards; results come back in call order, and errors carry redis-py's
    "Command # n (...) of pipeline caused error:" prefix.

    ``transaction=True`` (the default, as in redis-py) is one MULTI/EXEC, so every key must be on one
    shard; keyless commands that any server answers (PING, TIME, ECHO, ...) run on that shard too.
    With ``transaction=False`` each shard's share is one redis-py pipeline, the shards in parallel, and
    split commands (MGET, DEL, ...) are split here too. ``wait(numreplicas, timeout)`` goes to the shards
    of the commands queued before it, so ``pipe.set(k, v).wait(1, 100)`` is a write acknowledged by a replica.
    ``watch()`` binds the pipeline to the watched keys' shard and then behaves like redis-py's Pipeline.
    With the client's ``durable_writes``, each shard's batch that writes ends with a WAIT (after EXEC for a
    transaction); after ``watch()`` the pipeline keeps its connection until reset, so that writes made
    before ``multi()`` are waited for at once and queued ones after EXEC. Scripts (redis-py's Script objects
    called with ``client=pipe``) are loaded on every shard before the batch is sent.
    """

    _event_dispatcher: Any = None

    def __init__(self, client: Any, transaction: bool = True, shard_hint: Optional[str] = None) -> None:  # pylint: disable=super-init-not-called
        # Not Pipeline.__init__: there is no single connection pool, the client routes each command.
        self._client = client
        self.transaction = transaction
        self.shard_hint = shard_hint
        self.response_callbacks = client.response_callbacks
        self.command_stack: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.scripts: set[Any] = set()
        self.explicit_transaction = False
        self.connection = None
        self._bound: Optional[str] = None
        self._inner: Any = None
        self._held: Optional[HeldConnectionPool] = None
        self._held_client: Any = None
        self._queued_writes = 0

    @property
    def connection_pool(self) -> Any:  # type: ignore[override]
        return self._client.connection_pool

    @property
    def watching(self) -> bool:  # type: ignore[override]
        return self._inner is not None and bool(self._inner.watching)

    def __len__(self) -> int:
        return len(self._inner) if self._inner is not None else len(self.command_stack)

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> "ShardedPipeline":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.reset()

    def __del__(self) -> None:
        try:
            self.reset()
        except Exception:  # pylint: disable=broad-except
            pass

    def __repr__(self) -> str:
        return f"<ShardedPipeline of {self._client!r}>"

    def get_encoder(self) -> Any:
        return self._client.get_encoder()

    def pipeline(self, transaction: bool = True, shard_hint: Optional[str] = None) -> "ShardedPipeline":
        return self._client.pipeline(transaction, shard_hint)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if args and str(args[0]).upper() == "WATCH":
            return self.watch(*args[1:])
        if self._inner is not None:
            self._check_bound(args)
            reply = self._inner.execute_command(*args, **options)
            if self._held is not None and self._client._durable_for(args) is not None:  # pylint: disable=protected-access
                if self._inner.explicit_transaction:
                    self._queued_writes += 1
                else:
                    self._wait_on_held(str(command_words(args)[0]).upper(), reply)
            return reply
        self.command_stack.append((args, options))
        return self

    def pipeline_execute_command(self, *args: Any, **options: Any) -> "ShardedPipeline":
        self.command_stack.append((args, options))
        return self

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        """Run one command now: on the watched shard's connection after watch(), else as the client would."""
        if self._inner is not None:
            self._check_bound(args)
            return self._inner.immediate_execute_command(*args, **options)
        return self._client.execute_command(*args, **options)

    def _wait_on_held(self, command: str, results: Any) -> None:
        """WAIT on the WATCH connection for the writes made on it; DurabilityError if too few replicas confirm."""
        durable, client = self._client._durable, self._held_client  # pylint: disable=protected-access
        durable.check(durable.wait(client, self._held), str(self._bound), client, command, results)

    def _check_bound(self, args: tuple[Any, ...]) -> None:
        routing = self._client._current_routing()  # pylint: disable=protected-access
        plan = self._client._plan(args, True, routing)  # pylint: disable=protected-access
        if plan.floating:
            return
        shards = {shard for shard, _part in plan.parts}
        if shards != {self._bound}:
            raise CrossShardError(command_label(args), shards | {str(self._bound)}, detail=(
                f"{command_label(args)} uses shard {', '.join(sorted(shards))}, but this pipeline watches keys on "
                f"shard {self._bound}: a WATCH/MULTI/EXEC runs on one shard; give the keys one {{hash tag}}"))
        self._pull(routing, self._client._part_keys(args))  # pylint: disable=protected-access

    def _pull(self, routing: Any, keys: list[Any]) -> None:
        """While a reshard runs, a WATCH pipeline's keys are moved to their new owner before it uses them."""
        if routing.previous is not None:
            self._client._pull.pull(routing, keys)  # pylint: disable=protected-access

    def watch(self, *names: Any) -> Any:
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        routing = self._client._current_routing()  # pylint: disable=protected-access
        self._pull(routing, list(names))
        shards = {routing.owners[key_slot(name)] for name in names}
        if self._bound is not None:
            shards.add(self._bound)
        if len(shards) != 1:
            raise CrossShardError("WATCH", shards, detail=(
                f"WATCH keys span shards {', '.join(sorted(shards))}: a WATCH/MULTI/EXEC runs on one shard; "
                "give the keys one {hash tag}"))
        if self._inner is None:
            if self.command_stack:
                raise RedisError("WATCH after commands were queued: call watch() first, as with redis-py's Pipeline")
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
            return
        if self.explicit_transaction:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self.command_stack:
            raise RedisError("Commands without an initial WATCH have already been issued")
        self.explicit_transaction = True

    def reset(self) -> None:
        self.command_stack = []
        self.scripts = set()
        self.explicit_transaction = False
        inner, held = self._inner, self._held
        self._inner = None
        self._held = self._held_client = None
        self._queued_writes = 0
        self._bound = None
        if inner is not None:
            inner.reset()
        if held is not None:
            held.close()

    def close(self) -> None:
        self.reset()

    def load_scripts(self) -> None:
        """Make sure every script queued through redis-py's Script objects is loaded on every shard."""
        scripts = list(self.scripts)
        if not scripts:
            return
        loaded = self._client.script_exists(*[script.sha for script in scripts])
        for script, exists in zip(scripts, loaded):
            if not exists:
                script.sha = self._client.script_load(script.script)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            if self.scripts:
                self.load_scripts()
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

    def _plans(self, routing: Any, transaction: bool) -> list[Any]:
        """Each queued command's Plan, or for a single-key command (GET, SET, ...) just its shard's name."""
        client = self._client
        single = client.single_key_commands() if len(routing.all_shards) > 1 else frozenset()
        owners = routing.owners
        plans: list[Any] = []
        seen: dict[str, None] = {}
        for args, _options in self.command_stack:
            if args[0] in single and len(args) > 1:
                shard = owners[key_slot(args[1])]
                seen[shard] = None
                plans.append(shard)
                continue
            if str(args[0]).upper() == "WAIT" and seen:
                plan = self._wait_plan(args, list(seen))
            else:
                plan = client._plan(args, transaction, routing)  # pylint: disable=protected-access
            seen.update((shard, None) for shard, _part in plan.parts)
            plans.append(plan)
        if not transaction:
            return plans
        keyed = [Plan([(plan, ())], _identity) if isinstance(plan, str) else plan for plan in plans]
        home = transaction_shard(keyed, routing.all_shards[0])
        if home is None:
            used = {shard for plan in keyed if not plan.floating for shard, _part in plan.parts}
            raise CrossShardError("MULTI/EXEC", used, detail=(
                f"pipeline(transaction=True), redis-py's default, is one MULTI/EXEC on one shard, and these commands "
                f"use shards {', '.join(sorted(used))}: give their keys one {{hash tag}}, or use "
                "pipeline(transaction=False) for a batch that is split by shard and not atomic"))
        return [Plan([(home, part) for _shard, part in plan.parts], plan.merge)
                if isinstance(plan, Plan) and plan.floating else plan for plan in plans]

    def _execute_queue(self, raise_on_error: bool) -> list[Any]:
        client = self._client
        if not self.command_stack:
            return []
        transaction = self.transaction or self.explicit_transaction
        routing = client._current_routing()  # pylint: disable=protected-access
        plans = self._plans(routing, transaction)
        batches: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
        slots: list[Any] = []
        for plan, (args, options) in zip(plans, self.command_stack):
            if isinstance(plan, str):
                batch = batches.setdefault(plan, [])
                slots.append((plan, len(batch)))
                batch.append((args, options))
                continue
            where = []
            for shard, part in plan.parts:
                batch = batches.setdefault(shard, [])
                where.append((shard, len(batch)))
                batch.append((part, options))
            slots.append(where)
        if transaction or len(batches) == 1:
            replies = {s: client._run_batch(s, batch, transaction, routing)  # pylint: disable=protected-access
                       for s, batch in batches.items()}
        else:
            replies = client._run_batches(batches, routing)  # pylint: disable=protected-access
        results: list[Any] = []
        for plan, where in zip(plans, slots):
            if isinstance(plan, str):
                results.append(replies[where[0]][where[1]])
                continue
            parts = [replies[shard][index] for shard, index in where]
            error = next((p for p in parts if isinstance(p, Exception)), None)
            results.append(error if error is not None else plan.merge(parts))
        if raise_on_error:
            for number, (result, (args, _options)) in enumerate(zip(results, self.command_stack), start=1):
                if isinstance(result, ResponseError):
                    raise annotate_pipeline_error(result, number, args)
        return results

"""ShardedPipeline: queues commands, sends each shard's share as one redis-py pipeline, in parallel."""

from __future__ import annotations

from typing import Any, Optional

from .command_keys import command_words
from .durability import describe
from .pipeline_steps import check_bound, execute_queue, watch_shard
from .redis_import import Pipeline, RedisError, ResponseError
from .sync_io import HeldConnectionPool, held_pipeline, wait_on_held


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
            if self._held is not None and self._client._core.durable_for(args) is not None:  # pylint: disable=protected-access
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
        durable, client = self._client._core.durable, self._held_client  # pylint: disable=protected-access
        durable.check(wait_on_held(client, self._held, durable.wait_args), str(self._bound), client, command, results)

    def _check_bound(self, args: tuple[Any, ...]) -> None:
        self._client._run(check_bound(self._client._core, str(self._bound), args))  # pylint: disable=protected-access

    def watch(self, *names: Any) -> Any:
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        shard_name = self._client._run(watch_shard(self._client._core, names, self._bound))  # pylint: disable=protected-access
        if self._inner is None:
            if self.command_stack:
                raise RedisError("WATCH after commands were queued: call watch() first, as with redis-py's Pipeline")
            self._bound = shard_name
            shard = self._client._ready_shard(self._bound)  # pylint: disable=protected-access
            if self._client._core.durable is not None:  # pylint: disable=protected-access
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

    def _execute_queue(self, raise_on_error: bool) -> list[Any]:
        transaction = self.transaction or self.explicit_transaction
        client = self._client
        queue = execute_queue(client._core, self.command_stack, transaction, raise_on_error)  # pylint: disable=protected-access
        return client._run(queue)  # type: ignore[no-any-return]  # pylint: disable=protected-access

"""ShardedPipeline: queues commands, sends each shard's share as one redis-py pipeline, in parallel."""

from __future__ import annotations

from typing import Any, Optional

from .command_keys import command_words
from .durability import describe
from .pipeline_base import ShardedPipelineBase
from .pipeline_steps import check_bound, watch_shard
from .redis_import import Pipeline, ResponseError
from .sync_io import held_pipeline, wait_on_held


class ShardedPipeline(ShardedPipelineBase, Pipeline):  # type: ignore[misc,override]
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

    def __init__(self, client: Any, transaction: bool = True, shard_hint: Optional[str] = None) -> None:  # pylint: disable=super-init-not-called
        ShardedPipelineBase.__init__(self, client, transaction, shard_hint)
        self.transaction = transaction

    def __enter__(self) -> "ShardedPipeline":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.reset()

    def __del__(self) -> None:
        try:
            self.reset()
        except Exception:  # pylint: disable=broad-except
            pass

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if args and str(args[0]).upper() == "WATCH":
            return self.watch(*args[1:])
        if self._inner is None:
            return self.pipeline_execute_command(*args, **options)
        self._check_bound(args)
        reply = self._inner.execute_command(*args, **options)
        if self._waits_for(args):
            if self._inner.explicit_transaction:
                self._queued_writes += 1
            else:
                self._wait_on_held(str(command_words(args)[0]).upper(), reply)
        return reply

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
        self._check_watch()
        shard_name = self._client._run(watch_shard(self._client._core, names, self._bound))  # pylint: disable=protected-access
        if self._inner is None:
            durable = self._bind(shard_name)
            client = self._client._ready_shard(shard_name).client  # pylint: disable=protected-access
            if durable:
                self._held_client = client
                self._inner, self._held = held_pipeline(client, True)
            else:
                self._inner = client.pipeline(transaction=True)
        return self._inner.watch(*names)

    def unwatch(self) -> Any:
        return self._inner.unwatch() if self._inner is not None else True

    def reset(self) -> None:
        inner, held = self._drop_state()
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
            return self._client._run(self._queue_procedure(raise_on_error))  # type: ignore[no-any-return]  # pylint: disable=protected-access
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

"""shardinel.asyncio's ShardedPipeline: redis.asyncio's Pipeline over shards, the shards' batches awaited together."""

from __future__ import annotations

from typing import Any, Optional

from ..command_keys import command_words
from ..durability import describe
from ..pipeline_base import ShardedPipelineBase
from ..pipeline_steps import check_bound, watch_shard
from ..redis_import import ResponseError
from .async_io import held_pipeline, wait_on_held
from .redis_import import Pipeline


class ShardedPipeline(ShardedPipelineBase, Pipeline):  # type: ignore[misc,override]
    """The sync ShardedPipeline's behaviour (see shardinel.pipeline) with redis.asyncio's API: queued commands
    return the pipeline, ``await pipe.execute()`` sends each shard's share as one batch, every shard at once, and
    gives the results in call order (errors with redis-py's "Command # n (...) of pipeline caused error:" prefix).
    ``transaction=True`` (the default) is one MULTI/EXEC on one shard. After ``await pipe.watch(...)`` the pipeline
    runs on the watched shard's own redis.asyncio pipeline: commands before ``multi()`` are awaited at once,
    commands after it are queued; that every one of them uses the watched shard is checked when it runs, or for
    queued ones at ``execute()``, before EXEC is sent (CrossShardError).
    """

    def __init__(self, client: Any, transaction: bool = True, shard_hint: Optional[str] = None) -> None:  # pylint: disable=super-init-not-called
        ShardedPipelineBase.__init__(self, client, transaction, shard_hint)
        self._unchecked: list[tuple[Any, ...]] = []

    async def __aenter__(self) -> "ShardedPipeline":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.reset()

    def __await__(self) -> Any:
        return self._async_self().__await__()

    async def _async_self(self) -> "ShardedPipeline":
        return self

    def __del__(self) -> None:
        """Nothing to release without a loop: reset() or execute() gives back a watched connection."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if args and str(args[0]).upper() == "WATCH":
            return self.watch(*args[1:])
        if self._inner is None:
            return self.pipeline_execute_command(*args, **options)
        if not self._inner.explicit_transaction:
            return self._immediate(args, options)
        self._inner.execute_command(*args, **options)
        self._unchecked.append(args)
        if self._waits_for(args):
            self._queued_writes += 1
        return self

    async def _immediate(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        await self._check_bound(args)
        reply = await self._inner.execute_command(*args, **options)
        if self._waits_for(args):
            await self._wait_on_held(str(command_words(args)[0]).upper(), reply)
        return reply

    async def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        """Run one command now: on the watched shard's connection after watch(), else as the client would."""
        if self._inner is not None:
            await self._check_bound(args)
            return await self._inner.immediate_execute_command(*args, **options)
        return await self._client.execute_command(*args, **options)

    async def _wait_on_held(self, command: str, results: Any) -> None:
        """WAIT on the WATCH connection for the writes made on it; DurabilityError if too few replicas confirm."""
        durable, client = self._client._core.durable, self._held_client  # pylint: disable=protected-access
        reply = await wait_on_held(client, self._held, durable.wait_args)
        durable.check(reply, str(self._bound), client, command, results)

    async def _check_bound(self, args: tuple[Any, ...]) -> None:
        await self._client._run(check_bound(self._client._core, str(self._bound), args))  # pylint: disable=protected-access

    async def watch(self, *names: Any) -> Any:
        self._check_watch()
        shard_name = await self._client._run(watch_shard(self._client._core, names, self._bound))  # pylint: disable=protected-access
        if self._inner is None:
            durable = self._bind(shard_name)
            client = (await self._client._ready_shard(shard_name)).client  # pylint: disable=protected-access
            if durable:
                self._held_client = client
                self._inner, self._held = await held_pipeline(client, True)
            else:
                self._inner = client.pipeline(transaction=True)
        return await self._inner.watch(*names)

    async def unwatch(self) -> Any:
        return await self._inner.unwatch() if self._inner is not None else True

    async def reset(self) -> None:
        self._unchecked = []
        inner, held = self._drop_state()
        try:
            if inner is not None:
                await inner.reset()
        finally:
            if held is not None:
                await held.close()

    async def aclose(self) -> None:
        await self.reset()

    async def load_scripts(self) -> None:
        """Make sure every script queued through redis-py's Script objects is loaded on every shard."""
        scripts = list(self.scripts)
        if scripts:
            found = await self._client.script_exists(*[script.sha for script in scripts])
            for script in [script for script, exists in zip(scripts, found) if not exists]:
                script.sha = await self._client.script_load(script.script)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            if self.scripts:
                await self.load_scripts()
            if self._inner is not None:
                return await self._execute_inner(raise_on_error)
            return await self._client._run(self._queue_procedure(raise_on_error))  # type: ignore[no-any-return]  # pylint: disable=protected-access
        finally:
            await self.reset()

    async def _execute_inner(self, raise_on_error: bool) -> list[Any]:
        """EXEC of a WATCH pipeline; queued writes are then waited for, also when one of them failed."""
        for args in self._unchecked:
            await self._check_bound(args)
        label = describe(self._inner.command_stack, True)
        try:
            results: list[Any] = await self._inner.execute(raise_on_error=raise_on_error)
        except ResponseError as exc:
            if self._queued_writes:
                await self._wait_on_held(label, exc)
            raise
        if self._queued_writes:
            await self._wait_on_held(label, results)
        return results

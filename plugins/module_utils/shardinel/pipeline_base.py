"""What the sync and the asyncio ShardedPipeline share without I/O: the queue, the watched shard, redis-py's
Pipeline attributes. The procedures they run are pipeline_steps'; each shell adds its redis-py Pipeline base
(sync or asyncio) and the I/O of watch(), execute() and reset().
"""

from __future__ import annotations

from typing import Any, Optional

from .effects import Command, Procedure
from .pipeline_steps import execute_queue
from .redis_import import RedisError


class ShardedPipelineBase:
    """The state of a sharded pipeline: commands queued (``command_stack``), or after ``watch()`` the watched
    shard (``_bound``) and its own redis-py pipeline (``_inner``), with its held connection when writes must be
    waited for (``_held``)."""

    _event_dispatcher: Any = None

    def __init__(self, client: Any, transaction: bool = True, shard_hint: Optional[str] = None) -> None:
        # Not redis-py's Pipeline.__init__: there is no single connection pool, the client routes each command.
        self._client = client
        self.is_transaction = transaction
        self.shard_hint = shard_hint
        self.response_callbacks = client.response_callbacks
        self.command_stack: list[Command] = []
        self.scripts: set[Any] = set()
        self.explicit_transaction = False
        self.connection = None
        self._bound: Optional[str] = None
        self._inner: Any = None
        self._held: Any = None
        self._held_client: Any = None
        self._queued_writes = 0

    @property
    def connection_pool(self) -> Any:
        return self._client.connection_pool

    @property
    def watching(self) -> bool:
        return self._inner is not None and bool(self._inner.watching)

    def __len__(self) -> int:
        return len(self._inner) if self._inner is not None else len(self.command_stack)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<ShardedPipeline of {self._client!r}>"

    def get_encoder(self) -> Any:
        return self._client.get_encoder()

    def pipeline(self, transaction: bool = True, shard_hint: Optional[str] = None) -> Any:
        return self._client.pipeline(transaction, shard_hint)

    def pipeline_execute_command(self, *args: Any, **options: Any) -> Any:
        self.command_stack.append((args, options))
        return self

    def multi(self) -> None:
        if self._inner is not None:
            self._inner.multi()
            return
        if self.explicit_transaction:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self.command_stack:
            raise RedisError("Commands without an initial WATCH have already been issued")
        self.explicit_transaction = True

    def _check_watch(self) -> None:
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")

    def _bind(self, shard_name: str) -> bool:
        """Before the first watch(): bind to the watched shard; True if its writes must then be waited for."""
        if self.command_stack:
            raise RedisError("WATCH after commands were queued: call watch() first, as with redis-py's Pipeline")
        self._bound = shard_name
        return self._client._core.durable is not None  # pylint: disable=protected-access

    def _waits_for(self, args: tuple[Any, ...]) -> bool:
        """Whether a write made through the watched connection must be waited for."""
        return self._held is not None and self._client._core.durable_for(args) is not None  # pylint: disable=protected-access

    def _drop_state(self) -> tuple[Any, Any]:
        """Forget the queue and the watched shard; its (inner pipeline, held connection), for the shell to reset."""
        inner, held = self._inner, self._held
        self.command_stack = []
        self.scripts = set()
        self.explicit_transaction = False
        self._inner = self._held = self._held_client = self._bound = None
        self._queued_writes = 0
        return inner, held

    def _queue_procedure(self, raise_on_error: bool) -> Procedure:
        transaction = self.is_transaction or self.explicit_transaction
        return execute_queue(self._client._core, self.command_stack, transaction, raise_on_error)  # pylint: disable=protected-access

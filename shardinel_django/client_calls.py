"""The cache backend's and the session store's operations, written once for their sync and async methods.

An operation is a generator (its "steps") that yields the client calls it needs, Call, Pipeline or Local values, and is
sent each result or has each Redis error thrown in where it yielded; nothing here does I/O. ``run`` makes the calls
on the shared shardinel client, ``arun`` awaits them on the event loop's shardinel.asyncio client, so that
Django's async cache and session API (aget, aset_many, aload, asave, ...) runs on the event loop, not in threads.
``sync_method(steps)`` and ``async_method(steps)`` make the two methods of a class from one steps method.
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Generator, NamedTuple, Optional

from shardinel.effects import Steps
from shardinel.redis_import import RedisError

Operation = Generator[Any, Any, Any]


class Call(NamedTuple):
    """client.<name>(*args, **kwargs)."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}


class Pipeline(NamedTuple):
    """These calls in one pipeline(transaction=False): their results."""

    calls: list[Call]


class Local(NamedTuple):
    """No client call: the caller's own method, ``sync()`` from run, ``await asynchronous()`` from arun (for
    Django's session-key helpers, whose async forms use the store's async methods)."""

    sync: Callable[[], Any]
    asynchronous: Optional[Callable[[], Awaitable[Any]]]


def call(name: str, *args: Any, **kwargs: Any) -> Call:
    return Call(name, args, kwargs)


def _sync_call(client: Any, step: Any) -> Any:
    if isinstance(step, Local):
        return step.sync()
    if isinstance(step, Pipeline):
        pipe = client.pipeline(transaction=False)
        for item in step.calls:
            getattr(pipe, item.name)(*item.args, **item.kwargs)
        return pipe.execute()
    return getattr(client, step.name)(*step.args, **step.kwargs)


async def _async_call(client: Any, step: Any) -> Any:
    if isinstance(step, Local):
        return await step.asynchronous()  # type: ignore[misc]
    if isinstance(step, Pipeline):
        async with client.pipeline(transaction=False) as pipe:
            for item in step.calls:
                getattr(pipe, item.name)(*item.args, **item.kwargs)
            return await pipe.execute()
    return await getattr(client, step.name)(*step.args, **step.kwargs)


def run(operation: Operation, client_of: Callable[[], Any]) -> Any:
    """Run an operation on the sync client; ``client_of()`` gives it (built at the first call)."""
    client: Optional[Any] = None
    with Steps(operation) as steps:
        for step in steps:
            try:
                client = client or client_of()
                steps.reply(_sync_call(client, step))
            except RedisError as exc:
                steps.fail(exc)
    return steps.result()


async def arun(operation: Operation, client_of: Callable[[], Awaitable[Any]]) -> Any:
    """Run an operation on the asyncio client; ``await client_of()`` gives it (built at the first call)."""
    client: Optional[Any] = None
    with Steps(operation) as steps:
        for step in steps:
            try:
                client = client or await client_of()
                steps.reply(await _async_call(client, step))
            except RedisError as exc:
                steps.fail(exc)
    return steps.result()


def sync_method(steps: Callable[..., Operation]) -> Callable[..., Any]:
    """The method that runs ``steps`` on the sync client (the class's ``_run``)."""
    @functools.wraps(steps)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._run(steps(self, *args, **kwargs))  # pylint: disable=protected-access
    return method


def async_method(steps: Callable[..., Operation]) -> Callable[..., Any]:
    """The coroutine method that runs ``steps`` on the event loop's asyncio client (the class's ``_arun``)."""
    @functools.wraps(steps)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._arun(steps(self, *args, **kwargs))  # pylint: disable=protected-access
    return method

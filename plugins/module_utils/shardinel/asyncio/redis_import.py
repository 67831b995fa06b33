"""redis.asyncio, imported so that shardinel.asyncio can be imported (not used) without it or with an older redis-py.

The asyncio client needs redis-py 5.0.1 or later (redis.asyncio with aclose() on clients, pipelines and PubSub);
``missing_reason()`` says why it cannot run here, or None.
"""

from __future__ import annotations

import traceback
import typing

MINIMUM_VERSION = (5, 0, 1)

if typing.TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.asyncio.client import Monitor, Pipeline, PubSub
    from redis.asyncio.lock import Lock
    from redis.asyncio.retry import Retry
    from redis.commands import AsyncCoreCommands, AsyncRedisModuleCommands
    REDIS_VERSION = "5.0.1"
    REDIS_ASYNCIO_IMPORT_ERROR: typing.Optional[str] = None
else:
    try:
        import redis
        import redis.asyncio as aioredis
        from redis.asyncio.client import Monitor, Pipeline, PubSub
        from redis.asyncio.lock import Lock
        from redis.asyncio.retry import Retry
        from redis.commands import AsyncCoreCommands, AsyncRedisModuleCommands
        REDIS_VERSION = str(getattr(redis, "__version__", "0"))
        REDIS_ASYNCIO_IMPORT_ERROR = None
    except ImportError:
        REDIS_VERSION = None
        REDIS_ASYNCIO_IMPORT_ERROR = traceback.format_exc()
        aioredis = Monitor = Lock = Retry = None

        class AsyncCoreCommands:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis.asyncio is missing."""

        class AsyncRedisModuleCommands:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis.asyncio is missing."""

        class Pipeline:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis.asyncio is missing."""

        class PubSub:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis.asyncio is missing."""


def version_tuple(text: str) -> tuple[int, ...]:
    """(5, 0, 1) from "5.0.1" (or "5.0.1rc2": the leading digits of each part)."""
    numbers = []
    for part in text.split(".")[:3]:
        digits = ""
        for character in part:
            if not character.isdigit():
                break
            digits += character
        numbers.append(int(digits or 0))
    return tuple(numbers)


def missing_reason() -> typing.Optional[str]:
    """Why the asyncio client cannot run with the redis-py installed here, or None if it can."""
    wanted = ".".join(str(n) for n in MINIMUM_VERSION)
    if REDIS_VERSION is None:
        return f"shardinel.asyncio needs redis-py {wanted} or later (pip install 'redis>={wanted}'): redis.asyncio " \
               f"could not be imported:\n{REDIS_ASYNCIO_IMPORT_ERROR}"
    if version_tuple(REDIS_VERSION) < MINIMUM_VERSION:
        return f"shardinel.asyncio needs redis-py {wanted} or later (redis.asyncio with aclose()); this is redis-py " \
               f"{REDIS_VERSION} (pip install 'redis>={wanted}'; the sync shardinel client works with redis-py 4.3)"
    return None


__all__ = ["aioredis", "Monitor", "Pipeline", "PubSub", "Lock", "Retry", "AsyncCoreCommands", "AsyncRedisModuleCommands",
           "REDIS_VERSION", "REDIS_ASYNCIO_IMPORT_ERROR", "MINIMUM_VERSION", "missing_reason"]

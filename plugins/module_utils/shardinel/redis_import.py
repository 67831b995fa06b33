"""redis-py, imported so that this package can be imported (not used) without it.

Ansible modules check HAS_REDIS and report REDIS_IMPORT_ERROR with missing_required_lib('redis').
"""

from __future__ import annotations

import traceback
import typing

if typing.TYPE_CHECKING:
    import redis
    from redis.client import Monitor, Pipeline, PubSub
    from redis.commands import CoreCommands, RedisModuleCommands
    from redis.connection import Encoder
    from redis.exceptions import (AuthenticationError, ConnectionError as RedisConnectionError, NoPermissionError,
                                  ReadOnlyError, RedisError, ResponseError, TimeoutError as RedisTimeoutError, WatchError)
    from redis.lock import Lock
    from redis.retry import Retry
    from redis.backoff import NoBackoff
    HAS_REDIS = True
    REDIS_IMPORT_ERROR: typing.Optional[str] = None
else:
    try:
        import redis
        from redis.client import Monitor, Pipeline, PubSub
        from redis.commands import CoreCommands, RedisModuleCommands
        from redis.connection import Encoder
        from redis.exceptions import (AuthenticationError, ConnectionError as RedisConnectionError, NoPermissionError,
                                      ReadOnlyError, RedisError, ResponseError, TimeoutError as RedisTimeoutError,
                                      WatchError)
        from redis.lock import Lock
        from redis.retry import Retry
        from redis.backoff import NoBackoff
        HAS_REDIS = True
        REDIS_IMPORT_ERROR = None
    except ImportError:
        HAS_REDIS = False
        REDIS_IMPORT_ERROR = traceback.format_exc()
        redis = None
        Retry = NoBackoff = Lock = Monitor = Encoder = None

        class CoreCommands:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis-py is missing."""

        class RedisModuleCommands:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis-py is missing."""

        class Pipeline:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis-py is missing."""

        class PubSub:  # pylint: disable=too-few-public-methods
            """Placeholder base while redis-py is missing."""

        class RedisError(Exception):
            """Placeholder for redis.exceptions.RedisError while redis-py is missing."""

        class RedisConnectionError(RedisError):
            """Placeholder for redis.exceptions.ConnectionError."""

        class AuthenticationError(RedisConnectionError):
            """Placeholder for redis.exceptions.AuthenticationError."""

        class RedisTimeoutError(RedisError):
            """Placeholder for redis.exceptions.TimeoutError."""

        class ResponseError(RedisError):
            """Placeholder for redis.exceptions.ResponseError."""

        class ReadOnlyError(ResponseError):
            """Placeholder for redis.exceptions.ReadOnlyError."""

        class NoPermissionError(ResponseError):
            """Placeholder for redis.exceptions.NoPermissionError."""

        class WatchError(RedisError):
            """Placeholder for redis.exceptions.WatchError."""

__all__ = ["HAS_REDIS", "REDIS_IMPORT_ERROR", "redis", "CoreCommands", "RedisModuleCommands", "Pipeline", "PubSub", "Monitor", "Encoder",
           "Lock", "AuthenticationError", "RedisConnectionError", "ReadOnlyError", "NoPermissionError", "RedisError",
           "ResponseError", "RedisTimeoutError", "WatchError", "Retry", "NoBackoff"]

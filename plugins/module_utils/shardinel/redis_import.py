"""redis-py, imported so that this package can be imported (not used) without it.

Ansible modules check HAS_REDIS and report REDIS_IMPORT_ERROR with missing_required_lib('redis').
"""

from __future__ import annotations

import traceback
import typing

if typing.TYPE_CHECKING:
    import redis
    from redis.commands import CoreCommands
    from redis.exceptions import (AuthenticationError, ConnectionError as RedisConnectionError, NoPermissionError,
                                  ReadOnlyError, RedisError, ResponseError, TimeoutError as RedisTimeoutError)
    from redis.retry import Retry
    from redis.backoff import NoBackoff
    HAS_REDIS = True
    REDIS_IMPORT_ERROR: typing.Optional[str] = None
else:
    try:
        import redis
        from redis.commands import CoreCommands
        from redis.exceptions import (AuthenticationError, ConnectionError as RedisConnectionError, NoPermissionError,
                                      ReadOnlyError, RedisError, ResponseError, TimeoutError as RedisTimeoutError)
        from redis.retry import Retry
        from redis.backoff import NoBackoff
        HAS_REDIS = True
        REDIS_IMPORT_ERROR = None
    except ImportError:
        HAS_REDIS = False
        REDIS_IMPORT_ERROR = traceback.format_exc()
        redis = None
        Retry = NoBackoff = None

        class CoreCommands:  # pylint: disable=too-few-public-methods
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

__all__ = ["HAS_REDIS", "REDIS_IMPORT_ERROR", "redis", "CoreCommands", "AuthenticationError", "RedisConnectionError",
           "ReadOnlyError", "NoPermissionError", "RedisError", "ResponseError", "RedisTimeoutError", "Retry", "NoBackoff"]

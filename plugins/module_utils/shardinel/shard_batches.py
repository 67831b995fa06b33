"""Several shards' commands sent at once from one thread: every request is written first, then the replies are read.

The servers work at the same time while this thread encodes and parses, as redis-py's RedisCluster pipeline
does; there is no worker thread and no hand-off between threads. A shard whose connection fails is reported
with its error, so that the caller can send that shard's share again through its failover handling; the other
shards' replies stand.
"""

from __future__ import annotations

from typing import Any, Sequence, Union

from .redis_import import RedisError, ResponseError

Command = tuple[tuple[Any, ...], dict[str, Any]]


def send_at_once(batches: Sequence[tuple[Any, Sequence[Command]]]) -> list[Union[list[Any], BaseException]]:
    """For each (redis-py client, commands): its replies (a command's error in its place), or the error that stopped it."""
    sent: list[tuple[Any, Any, Sequence[Command], Union[BaseException, None]]] = []
    try:
        for client, commands in batches:
            connection = None
            try:
                connection = _connection(client.connection_pool)
                connection.send_packed_command(connection.pack_commands([args for args, _options in commands]))
                sent.append((client, connection, commands, None))
            except (RedisError, OSError) as exc:
                if connection is not None:
                    connection.disconnect()
                    client.connection_pool.release(connection)
                sent.append((client, None, commands, exc))
        outcomes: list[Union[list[Any], BaseException]] = []
        while sent:
            client, connection, commands, error = sent.pop(0)
            if connection is None:
                outcomes.append(error if error is not None else RedisError("not sent"))
                continue
            try:
                outcomes.append(_read_replies(client, connection, commands))
            except BaseException as exc:  # a connection left with unread replies must not go back to the pool as is
                connection.disconnect()
                if not isinstance(exc, (RedisError, OSError)):
                    raise
                outcomes.append(exc)
            finally:
                client.connection_pool.release(connection)
        return outcomes
    except BaseException:
        for client, connection, _commands, _error in sent:
            if connection is not None:
                connection.disconnect()
                client.connection_pool.release(connection)
        raise


def _connection(pool: Any) -> Any:
    try:
        return pool.get_connection()
    except TypeError:  # redis-py before 5.3 wants a command name (Debian 12's python3-redis is 4.3)
        return pool.get_connection("_")


def _read_replies(client: Any, connection: Any, commands: Sequence[Command]) -> list[Any]:
    replies: list[Any] = []
    for args, options in commands:
        try:
            replies.append(client.parse_response(connection, args[0], **dict(options)))
        except ResponseError as exc:
            replies.append(exc)
    return replies

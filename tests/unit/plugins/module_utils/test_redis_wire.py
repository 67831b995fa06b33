"""redis_wire, the host-side modules' Redis protocol client, against real Redis and Sentinel processes."""

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import (
    AuthError, Connection, ReplyError, TlsFiles, WireError, ask_each)
from redis_topology import RedisTopology


def admin(topology: RedisTopology, address: tuple[str, int], **kwargs: object) -> Connection:
    user = topology.users["admin"]
    return Connection(address, user.username, user.password, **kwargs)  # type: ignore[arg-type]


def test_replies_of_every_type(shared_topology: RedisTopology) -> None:
    master = shared_topology.shards[0].master.address
    with admin(shared_topology, master) as connection:
        assert connection.call("SET", "wire:{t}:a", "é\x00b") == "OK"
        assert connection.call("GET", "wire:{t}:a") == "é\x00b"
        assert connection.call("GET", "wire:{t}:missing") is None
        assert connection.call("INCRBY", "wire:{t}:n", 5) == 5
        assert connection.call("DEL", "wire:{t}:a", "wire:{t}:n") == 2
        assert connection.call("ROLE")[0] == "master"
        replies = connection.pipeline([["PING"], ["NOSUCHCOMMAND"], ["ECHO", "x" * 100000]])
    assert replies[0] == "PONG"
    assert isinstance(replies[1], ReplyError) and replies[1].code == "ERR"
    assert replies[2] == "x" * 100000


def test_an_error_reply_is_raised_by_call_and_names_its_code(shared_topology: RedisTopology) -> None:
    with admin(shared_topology, shared_topology.shards[0].master.address) as connection:
        with pytest.raises(ReplyError) as raised:
            connection.call("INCR")
    assert raised.value.code == "ERR"


def test_a_wrong_password_is_an_auth_error_without_the_password(shared_topology: RedisTopology) -> None:
    address = shared_topology.shards[0].master.address
    with pytest.raises(AuthError) as raised:
        Connection(address, "admin", "not-the-password-7f3a").call("PING")
    assert "not-the-password-7f3a" not in str(raised.value)
    assert "admin" in str(raised.value)


def test_sentinel_masters_as_flat_lists(shared_topology: RedisTopology) -> None:
    user = shared_topology.sentinel_users["client"]
    sentinel = shared_topology.sentinels[0].address
    masters = Connection(sentinel, user.username, user.password).call("SENTINEL", "MASTERS")
    names = sorted(dict(zip(entry[::2], entry[1::2]))["name"] for entry in masters)
    assert names == shared_topology.shard_names


def test_a_closed_port_is_a_wire_error_naming_the_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WireError) as raised:
        Connection(("127.0.0.1", port), timeout=1.0).call("PING")
    assert "127.0.0.1:%d" % port in str(raised.value)


def test_ask_each_asks_every_address_at_once_within_one_deadline(shared_topology: RedisTopology) -> None:
    user = shared_topology.sentinel_users["client"]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        silent_address = silent.getsockname()
        addresses = [s.address for s in shared_topology.sentinels] + [silent_address]
        started = time.monotonic()
        answers = ask_each(addresses, [["SENTINEL", "MASTERS"], ["PING"]], user.username, user.password, timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 5.0, "the silent server held the answer past the deadline"
    for sentinel in shared_topology.sentinels:
        masters, pong = answers[sentinel.address]
        assert len(masters) == len(shared_topology.shards) and pong == "PONG"
    assert isinstance(answers[silent_address], WireError)


def test_tls_with_the_ca_and_a_client_certificate(tls_topology: RedisTopology) -> None:
    assert tls_topology.tls is not None
    files = TlsFiles(str(tls_topology.tls.ca), str(tls_topology.tls.client_cert), str(tls_topology.tls.client_key))
    with admin(tls_topology, tls_topology.shards[0].master.address, tls=files) as connection:
        assert connection.call("PING") == "PONG"
    user = tls_topology.sentinel_users["client"]
    answers = ask_each([s.address for s in tls_topology.sentinels], [["SENTINEL", "MASTERS"]], user.username,
                       user.password, TlsFiles(str(tls_topology.tls.ca)))
    assert all(isinstance(replies, list) for replies in answers.values()), answers


def test_tls_refuses_a_server_whose_certificate_another_ca_signed(tls_topology: RedisTopology, tmp_path) -> None:
    from redis_topology import write_tls_files
    other = write_tls_files(tmp_path)
    with pytest.raises(WireError, match="TLS handshake failed"):
        admin(tls_topology, tls_topology.shards[0].master.address, tls=TlsFiles(str(other.ca))).call("PING")


def test_plaintext_to_a_tls_port_fails_as_a_wire_error(tls_topology: RedisTopology) -> None:
    with pytest.raises(WireError):
        admin(tls_topology, tls_topology.shards[0].master.address, timeout=2.0).call("PING")


def test_a_unix_socket_path_is_an_address(tmp_path) -> None:
    import subprocess
    from redis_topology import REDIS_SERVER
    path = str(tmp_path / "redis.sock")
    server = subprocess.Popen([REDIS_SERVER, "--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path), "--user", "admin", "on", ">unix-pass-4d2", "+@all"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with Connection(path, "admin", "unix-pass-4d2") as connection:
                    assert connection.call("PING") == "PONG"
                    assert connection.call("ACL", "WHOAMI") == "admin"
                break
            except WireError:
                assert time.monotonic() < deadline, "the server did not open its socket"
                time.sleep(0.02)
        with pytest.raises(AuthError):
            Connection(path, "admin", "wrong").call("PING")
    finally:
        server.kill()
        server.wait()
    with pytest.raises(WireError) as raised:
        Connection(path, timeout=1.0).call("PING")
    assert "unix:" + path in str(raised.value)

"""shardinel.redis.instances_info through its real entry point, against real redis-server processes: a host's
instances found by their static files, each one's application keys and published shard layout, "not running" for
one that refuses the connection, a previous password during a rotation, and a failure naming the shard and port for
an instance that cannot be read.

As in the redis_server preflight's tests (tests/unit/roles/test_removal_check.py), the configuration directory holds
the static files of "dropped" and "shard2", pointing at the masters of a topology's two shards, and of "stopped",
which does not run.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

import pytest
from redis_topology import RedisTopology, running_topology

LAYOUT_KEY = "shardinel:layout"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTopology]:
    yield from running_topology(tmp_path_factory.mktemp("instances-info"))


def layout(version: int, shards: list[str], previous: list[str] | None = None) -> str:
    document: dict[str, object] = {"version": version, "shards": shards, "lease_s": 5.0}
    if previous is not None:
        document["previous"] = previous
    return json.dumps(document, sort_keys=True)


def prepare(topology: RedisTopology, layouts: dict[str, str], keys: dict[str, int]) -> None:
    """The masters of shard1 (the "dropped" instance) and shard2 hold only the given layouts and application keys
    (``keys[name]`` in database 3, ``keys[name + "/db0"]`` in database 0)."""
    for name, shard in (("dropped", "shard1"), ("shard2", "shard2")):
        address = topology.shard(shard).master.address
        with topology.redis_client(address, db=15) as layout_db, topology.redis_client(address, db=3) as app_db:
            layout_db.flushall()
            if name in layouts:
                layout_db.set(LAYOUT_KEY, layouts[name])
                layout_db.set("shardinel:fence", "not an application key")
            for index in range(keys.get(name, 0)):
                app_db.set(f"app:{index}", "v")
        if keys.get(f"{name}/db0"):
            with topology.redis_client(address, db=0) as db0:
                for index in range(keys[f"{name}/db0"]):
                    db0.set(f"app0:{index}", "v")


def config_dir(topology: RedisTopology, directory: Path, **extra: str) -> Path:
    path = directory / "config"
    path.mkdir()
    for instance, shard in (("dropped", "shard1"), ("shard2", "shard2")):
        (path / f"{instance}.static.conf").write_text(f"port {topology.shard(shard).master.port}\n", encoding="utf-8")
    (path / "stopped.static.conf").write_text("port 1\n", encoding="utf-8")
    (path / "shard2.conf").write_text("port 2\n", encoding="utf-8")  # not a static file
    for name, content in extra.items():
        (path / f"{name}.static.conf").write_text(content, encoding="utf-8")
    return path


def info_args(topology: RedisTopology, directory: Path, **extra: object) -> dict:
    admin = topology.users["admin"]
    return dict({"config_dir": str(directory), "host": "127.0.0.1", "username": admin.username,
                 "passwords": [admin.password], "timeout": 2}, **extra)


def test_each_instance_with_its_keys_and_layout(topology, tmp_path, run_module):
    migrating = layout(3, ["shard1", "shard2"], ["dropped", "shard1", "shard2"])
    prepare(topology, {"dropped": migrating, "shard2": layout(4, ["shard1", "shard2"])},
            {"dropped": 2, "dropped/db0": 3, "shard2": 1})
    directory = config_dir(topology, tmp_path)
    for check_mode in (False, True):
        result = run_module("instances_info", info_args(topology, directory), check_mode=check_mode)
        assert result.rc == 0 and not result["changed"], result.output
        dropped, shard2, stopped = result["instances"]
        port = topology.shard("shard1").master.port
        assert dropped == {"name": "dropped", "port": port, "address": f"127.0.0.1:{port}", "state": "running",
                           "key_count": 5, "layout": json.loads(migrating)}
        assert shard2["name"] == "shard2" and shard2["key_count"] == 1 and shard2["layout"]["version"] == 4
        assert stopped == {"name": "stopped", "port": 1, "address": "127.0.0.1:1", "state": "not running",
                           "key_count": None, "layout": None}
        assert result["newest_layout"] == {"version": 4, "shards": ["shard1", "shard2"], "lease_s": 5.0}
        assert topology.users["admin"].password not in result.output


def test_no_layout_no_directory(topology, tmp_path, run_module):
    prepare(topology, {}, {})
    result = run_module("instances_info", info_args(topology, config_dir(topology, tmp_path)))
    assert result.rc == 0, result.output
    assert [(i["name"], i["key_count"], i["layout"]) for i in result["instances"]] == [
        ("dropped", 0, None), ("shard2", 0, None), ("stopped", None, None)]
    assert result["newest_layout"] == {}
    result = run_module("instances_info", info_args(topology, tmp_path / "absent"))
    assert result.rc == 0 and result["instances"] == [] and result["newest_layout"] == {}, result.output


def test_a_previous_password_during_a_rotation(topology, tmp_path, run_module):
    # Step 1 of a rotation: the running instances accept only what is now a previous password of the admin user.
    prepare(topology, {"dropped": layout(4, ["shard1", "shard2"])}, {"dropped": 2})
    new = "a-new-admin-password-not-applied-yet"
    args = info_args(topology, config_dir(topology, tmp_path), passwords=[new, topology.users["admin"].password])
    result = run_module("instances_info", args)
    assert result.rc == 0 and result["instances"][0]["key_count"] == 2, result.output
    assert new not in result.output and topology.users["admin"].password not in result.output


def test_an_instance_refusing_every_password_fails_naming_it(topology, tmp_path, run_module):
    args = info_args(topology, config_dir(topology, tmp_path), passwords=["wrong-1", "wrong-2"])
    result = run_module("instances_info", args)
    port = topology.shard("shard1").master.port
    assert result.rc != 0 and result["msg"] == (
        f"cannot read the instance of shard dropped (port {port}): it refused user admin with each of the 2 accepted "
        "password(s)"), result.output
    assert "wrong-1" not in result.output and "wrong-2" not in result.output


def test_an_instance_that_does_not_answer_is_not_known_to_be_empty(topology, tmp_path, run_module):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        directory = config_dir(topology, tmp_path, hung=f"port {port}\n")
        result = run_module("instances_info", info_args(topology, directory, timeout=1))
    assert result.rc != 0 and result["msg"].startswith(f"cannot read the instance of shard hung (port {port}): "), result.output


def test_a_layout_that_cannot_be_read_fails_naming_the_instance(topology, tmp_path, run_module):
    prepare(topology, {"shard2": '{"version": "three"}'}, {})
    result = run_module("instances_info", info_args(topology, config_dir(topology, tmp_path)))
    port = topology.shard("shard2").master.port
    assert result.rc != 0 and result["msg"].startswith(
        f"cannot read the published layout of the instance of shard shard2 (port {port}): shardinel:layout: version"), result.output


def test_the_tls_port_comes_first(tls_topology, tmp_path, run_module):
    assert tls_topology.tls is not None
    master = tls_topology.shards[0].master
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "shard1.static.conf").write_text(f"tls-port {master.port}\nport 1\n", encoding="utf-8")
    (directory / "noport.static.conf").write_text("port 0\n", encoding="utf-8")
    args = info_args(tls_topology, directory, tls=True, tls_ca_file=str(tls_topology.tls.ca),
                     tls_cert_file=str(tls_topology.tls.client_cert), tls_key_file=str(tls_topology.tls.client_key))
    result = run_module("instances_info", args)
    assert result.rc != 0 and result["msg"] == f"{directory}/noport.static.conf names no port the instance listens on (port or tls-port)"
    (directory / "noport.static.conf").unlink()
    result = run_module("instances_info", args)
    assert result.rc == 0, result.output
    assert [(i["name"], i["port"], i["state"]) for i in result["instances"]] == [("shard1", master.port, "running")]

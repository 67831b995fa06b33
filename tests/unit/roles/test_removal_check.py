"""The redis_server preflight's checks before it removes a shard dropped from shardinel_shards, against real redis-server
processes: refused while the published shard layout names the shard, whatever redis_server_remove_nonempty_shards says;
refused while it holds a key in any application database unless redis_server_remove_nonempty_shards; let through once
the newest layout over the host's instances leaves it out and it is empty. And a new shard may not take the port of an
instance that keeps running.

Each case runs test_preflight.py's playbook (the shardinel role, then the redis_server preflight) on an inventory whose
first data host has a configuration directory with the static files of three instances: "dropped" (no longer in
shardinel_shards) and "shard2", pointing at the masters of a local topology's two shards, and "stopped" (no longer in
shardinel_shards either), which does not run.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from redis_topology import RedisTopology, running_topology
from test_preflight import REPO, inventory, run_case

LAYOUT_KEY = "shardinel:layout"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTopology]:
    subprocess.run(["bash", str(REPO / "scripts" / "collection-path.sh")], check=True, capture_output=True)
    yield from running_topology(tmp_path_factory.mktemp("removal-check"))


def _layout(version: int, shards: list[str], previous: list[str] | None = None) -> str:
    document: dict[str, object] = {"version": version, "shards": shards, "lease_s": 5.0}
    if previous is not None:
        document["previous"] = previous
    return json.dumps(document, sort_keys=True)


def _prepare(topology: RedisTopology, layouts: dict[str, str], keys: dict[str, int]) -> None:
    """The masters of shard1 (the "dropped" instance) and shard2 hold only the given layouts and application keys."""
    for name, shard in (("dropped", "shard1"), ("shard2", "shard2")):
        address = topology.shard(shard).master.address
        with topology.redis_client(address, db=15) as layout_db, topology.redis_client(address, db=3) as app_db:
            layout_db.flushall()
            if name in layouts:
                layout_db.set(LAYOUT_KEY, layouts[name])
                layout_db.set("shardinel:fence", "not an application key")
            for index in range(keys.get(name, 0)):
                app_db.set(f"app:{index}", "v")


def _run(topology: RedisTopology, directory: Path, name: str, **group_vars: object) -> dict:
    config_dir = directory / "config"
    config_dir.mkdir()
    for instance, shard in (("dropped", "shard1"), ("shard2", "shard2")):
        (config_dir / f"{instance}.static.conf").write_text(f"port {topology.shard(shard).master.port}\n", encoding="utf-8")
    # Another dropped shard whose instance is not running (nothing listens on port 1): nothing to refuse.
    (config_dir / "stopped.static.conf").write_text("port 1\n", encoding="utf-8")
    data = inventory(group_vars={"shardinel_admin_password": topology.users["admin"].password, **group_vars},
                     host_vars={"server1": {"shardinel_announce_ip": "127.0.0.1", "redis_server_config_dir": str(config_dir)},
                                "server2": {"redis_server_config_dir": str(directory / "absent")}})
    result = run_case(directory, name, data)
    result["text"] = re.sub(r"\s+", " ", result["output"])
    assert topology.users["admin"].password not in result["output"]
    return result


def test_refused_while_the_published_layout_names_the_shard(topology, tmp_path):
    _prepare(topology, {"dropped": _layout(3, ["shard1", "shard2"], ["dropped", "shard1", "shard2"]),
                        "shard2": _layout(3, ["shard1", "shard2"], ["dropped", "shard1", "shard2"])}, {})
    result = _run(topology, tmp_path, "named", redis_server_remove_nonempty_shards=True)
    assert result["rc"] != 0 and not result["marker"], result["output"]
    assert ("Shard dropped is no longer in shardinel_shards but the published shard layout (version 3, moving keys from "
            "dropped, shard1, shard2 to shard1, shard2) still names it") in result["text"], result["output"]
    assert "Run playbooks/scale.yml (shardinel.redis.scale) first" in result["text"]


def test_refused_while_the_shard_holds_keys(topology, tmp_path):
    _prepare(topology, {"dropped": _layout(4, ["shard1", "shard2"]), "shard2": _layout(4, ["shard1", "shard2"])}, {"dropped": 2})
    result = _run(topology, tmp_path, "holding")
    assert result["rc"] != 0 and not result["marker"], result["output"]
    assert "Shard dropped is no longer in shardinel_shards but its instance on server1 holds 2 key(s)." in result["text"]
    assert "redis_server_remove_nonempty_shards" in result["text"]


def test_allowed_once_the_newest_layout_leaves_it_out_and_it_is_empty(topology, tmp_path):
    # The dropped shard's instance still holds the migrating layout; shard2's holds the newer stable one.
    _prepare(topology, {"dropped": _layout(3, ["shard1", "shard2"], ["dropped", "shard1", "shard2"]),
                        "shard2": _layout(4, ["shard1", "shard2"])}, {"shard2": 1})
    result = _run(topology, tmp_path, "allowed")
    assert result["rc"] == 0 and result["marker"], result["output"]


def test_a_new_shard_may_not_take_the_port_of_an_instance_that_keeps_running(topology, tmp_path):
    _prepare(topology, {}, {})
    port = topology.shard("shard1").master.port
    result = _run(topology, tmp_path, "port", shardinel_shards=[{"name": "shard1"}, {"name": "shard2", "port": port}])
    assert result["rc"] != 0 and not result["marker"], result["output"]
    assert (f"shard shard2 (shardinel_shards[shard2].port) would listen on port {port} of server1, where the instance of "
            "shard dropped runs") in result["text"], result["output"]


def test_instances_are_read_with_a_previous_admin_password_during_a_rotation(topology, tmp_path):
    # Step 1 of a rotation: the running instances accept only what is now a previous password of the admin user.
    _prepare(topology, {"dropped": _layout(4, ["shard1", "shard2"]), "shard2": _layout(4, ["shard1", "shard2"])}, {"dropped": 2})
    result = _run(topology, tmp_path, "rotating", shardinel_admin_password="a-new-admin-password-not-applied-yet",
                  shardinel_admin_previous_passwords=[topology.users["admin"].password])
    assert result["rc"] != 0 and not result["marker"], result["output"]
    assert "Shard dropped is no longer in shardinel_shards but its instance on server1 holds 2 key(s)." in result["text"]
    assert "a-new-admin-password-not-applied-yet" not in result["output"]

"""module_defaults: group/shardinel.redis.sentinel sets the Sentinel connection options once for every module of the
group (meta/runtime.yml action_groups), through a real ansible-playbook run against real Sentinels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from module_runner import COLLECTIONS
from redis_topology import RedisTopology


def test_one_set_of_defaults_reaches_every_module_of_the_group(shared_topology: RedisTopology, tmp_path: Path) -> None:
    client = shared_topology.sentinel_users["client"]
    playbook = [{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/shardinel.redis.sentinel": {
            "sentinels": shared_topology.sentinel_addresses, "sentinel_username": client.username,
            "sentinel_password": client.password}},
        "tasks": [
            {"name": "masters", "shardinel.redis.sentinel_masters": {}, "register": "masters"},
            {"name": "health", "shardinel.redis.topology_check": {
                "shards": shared_topology.shard_names, "timeout": 10, "username": "admin",
                "password": shared_topology.users["admin"].password}},
        ],
    }]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(playbook), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                             "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")],
                            capture_output=True, text=True, env=env, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    tasks = json.loads(result.stdout)["plays"][0]["tasks"]
    masters, health = (task["hosts"]["localhost"] for task in tasks)
    assert sorted(masters["current_masters"]) == shared_topology.shard_names
    assert health["healthy"] is True
    assert client.password not in result.stdout

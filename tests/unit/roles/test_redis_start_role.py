"""redis_start_role.py, the redis_server unit's ExecStartPre: a restarted instance whose shard failed over
meanwhile starts as a replica of the master the Sentinels name, never as a second master.

Run as the unit runs it (the host's Python, the script file, the settings file), against real Sentinels.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

ROLES = Path(__file__).resolve().parents[3] / "roles"
SCRIPT = ROLES / "redis_server" / "files" / "redis_start_role.py"
HOST_LAYOUT = ROLES / "shardinel" / "files" / "host_layout.py"


def _module():
    spec = importlib.util.spec_from_file_location("redis_start_role", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tmp_path: Path, shard: str, settings: dict) -> tuple[str, str]:
    """(output file content, journal message); the script must always succeed."""
    settings_path, output = tmp_path / "start-role.json", tmp_path / f"{shard}-start-role.conf"
    settings_path.write_text(json.dumps(settings), encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCRIPT), shard, str(settings_path), str(output)],
                            capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 0, result.stderr
    return output.read_text(encoding="utf-8"), result.stderr


def settings_for(topology, shard: str, me: str, sentinels: list[str] | None = None) -> dict:
    client = topology.sentinel_users["client"]
    return {"sentinels": topology.sentinel_addresses if sentinels is None else sentinels, "user": client.username,
            "password": client.password, "instances": {shard: me}, "host_layout": str(HOST_LAYOUT)}


def test_the_master_and_its_replica_start_as_they_are(shared_topology, tmp_path):
    shard = shared_topology.shard_names[0]
    master = shared_topology.wait_for_master_agreement(shard)
    master_text = f"{master[0]}:{master[1]}"
    content, message = run(tmp_path, shard, settings_for(shared_topology, shard, master_text))
    assert "replicaof" not in content and "itself as master" in message
    replica = next(m for m in shared_topology.shard(shard).members if m.address != tuple(master))
    content, message = run(tmp_path, shard, settings_for(shared_topology, shard, replica.address_string))
    assert content.splitlines()[-1] == f"replicaof {master[0]} {master[1]}"
    assert "of 3 answering" in message and shared_topology.users["sentinel"].password not in message


def test_no_sentinel_answering_or_bad_settings_start_from_the_own_config(shared_topology, tmp_path):
    shard = shared_topology.shard_names[0]
    closed = settings_for(shared_topology, shard, "127.0.0.1:1", sentinels=["127.0.0.1:1", "127.0.0.1:2"])
    content, message = run(tmp_path, shard, closed)
    assert "replicaof" not in content and "no Sentinel answered" in message
    wrong_password = dict(settings_for(shared_topology, shard, "127.0.0.1:1"), password="not-the-password")
    content, message = run(tmp_path, shard, wrong_password)
    assert "replicaof" not in content and "no Sentinel answered" in message
    content, message = run(tmp_path, "not-in-settings", closed)
    assert "replicaof" not in content and "could not ask the Sentinels for not-in-settings" in message


def test_the_newest_config_epoch_wins_over_a_stale_sentinel():
    decide = _module().decide
    answers = {"127.0.0.1:26379": {"ip": "10.0.0.1", "port": "6379", "config-epoch": "3"},
               "127.0.0.1:26380": {"ip": "10.0.0.2", "port": "6379", "config-epoch": "7"},
               "127.0.0.1:26381": {"ip": "10.0.0.1", "port": "6379", "config-epoch": "3"}}
    line, message = decide("s", "10.0.0.1:6379", answers)
    assert line == "replicaof 10.0.0.2 6379\n" and "127.0.0.1:26380 (config epoch 7 of 3 answering)" in message
    assert decide("s", "10.0.0.2:6379", answers)[0] == ""


def test_a_crashed_master_restarts_as_a_replica_of_the_promoted_one(fresh_topology, tmp_path):
    topology = fresh_topology
    shard = topology.shard_names[0]
    old_address = topology.wait_for_master_agreement(shard)
    old = topology.process_at(old_address)
    # One Sentinel misses the failover and restarts from its config: it may still name the old master.
    stale = topology.sentinels[-1]
    stale.kill(signal.SIGKILL)
    old.kill(signal.SIGKILL)
    new_address = topology.wait_for_master_agreement(shard, not_address=old_address, timeout=40)
    topology.restart(stale)
    content, message = run(tmp_path, shard, settings_for(topology, shard, old.address_string))
    assert content.splitlines()[-1] == f"replicaof {new_address[0]} {new_address[1]}", message
    with old.config.open("a", encoding="utf-8") as config:
        config.write(f"\ninclude {tmp_path / f'{shard}-start-role.conf'}\n")
    old.start()
    first_role = None
    deadline = time.monotonic() + 15
    while first_role is None and time.monotonic() < deadline:
        try:
            first_role = topology.redis_client(old_address).execute_command("ROLE")[0]
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            time.sleep(0.01)
    assert first_role in (b"slave", "slave"), f"the restarted old master answered ROLE {first_role!r} first"
    topology.wait_for_replica_in_sync(old_address)
    assert topology.wait_for_master_agreement(shard) == new_address

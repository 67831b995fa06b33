"""redis_restart.py, which the redis_server handler and playbooks/upgrade.yml run on a data host: the check of every
shard, and the switchover of a master before its restart (SENTINEL FAILOVER, then the old master a connected replica
of the new one). Run as the roles run it (the script file, its settings on stdin), against real Redis and Sentinels.
The restart itself needs systemd: the molecule default scenario covers it (molecule/default/tests/test_upgrade.py).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROLES = Path(__file__).resolve().parents[3] / "roles"
SCRIPT = ROLES / "redis_server" / "files" / "redis_restart.py"
HOST_LAYOUT = ROLES / "shardinel" / "files" / "host_layout.py"


def run(topology, sentinel_user: str = "admin", **settings: object) -> subprocess.CompletedProcess:
    sentinel, admin = topology.sentinel_users[sentinel_user], topology.users["admin"]
    stdin = dict({"sentinels": topology.sentinel_addresses, "cli": ["redis-cli"], "sentinel_user": sentinel.username,
                  "sentinel_password": sentinel.password, "user": admin.username, "password": admin.password,
                  "host_layout": str(HOST_LAYOUT), "timeout": 30}, **settings)
    return subprocess.run([sys.executable, str(SCRIPT)], input=json.dumps(stdin), capture_output=True, text=True,
                          check=False, timeout=120)


def address_text(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def test_check_names_every_master_and_in_sync_replica(shared_topology):
    result = run(shared_topology, action="check", shards=shared_topology.shard_names + ["unknown"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sentinels_answering"] == sorted(shared_topology.sentinel_addresses)
    for shard in shared_topology.shard_names:
        master = address_text(shared_topology.wait_for_master_agreement(shard))
        replica = next(m.address_string for m in shared_topology.shard(shard).members if m.address_string != master)
        assert report["shards"][shard] == {"master": master, "in_sync_replicas": [replica], "problems": []}
    assert report["shards"]["unknown"]["problems"], report["shards"]["unknown"]
    assert shared_topology.users["admin"].password not in result.stdout + result.stderr


def test_switchover_moves_the_master_and_leaves_a_replica_alone(fresh_topology):
    shard = fresh_topology.shard_names[0]
    master = fresh_topology.wait_for_master_agreement(shard)
    replica = next(m.address for m in fresh_topology.shard(shard).members if m.address != tuple(master))
    untouched = run(fresh_topology, action="switchover", shard=shard, address=address_text(replica))
    assert untouched.returncode == 0, untouched.stderr
    assert "new_master" not in json.loads(untouched.stdout)
    moved = run(fresh_topology, action="switchover", shard=shard, address=address_text(master))
    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert report["master_before"] == address_text(master) and report["new_master"] == address_text(replica)
    assert report["failover_s"] > 0 and not report["restarted"]
    role = fresh_topology.redis_client(master).execute_command("ROLE")
    assert [role[0], role[1], int(role[2]), role[3]] == [b"slave", replica[0].encode(), replica[1], b"connected"]
    assert fresh_topology.wait_for_master_agreement(shard) == tuple(replica)


def test_a_sentinel_user_that_may_not_fail_over_is_named(shared_topology):
    shard = shared_topology.shard_names[0]
    master = shared_topology.wait_for_master_agreement(shard)
    result = run(shared_topology, sentinel_user="client", action="switchover", shard=shard, address=address_text(master))
    assert result.returncode == 1 and "it needs the Sentinel admin user" in result.stderr, result.stderr
    assert shared_topology.sentinel_users["client"].password not in result.stderr
    assert shared_topology.wait_for_master_agreement(shard) == tuple(master)


def test_demoting_an_old_master_that_sentinel_already_converted_is_not_an_error(fresh_topology):
    """Sentinel may send REPLICAOF to the old master before the script does; Redis then answers
    "OK Already connected to specified master" (seen as a failed restart in the witness scenario)."""
    spec = importlib.util.spec_from_file_location("redis_restart", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    admin = fresh_topology.users["admin"]
    sentinel = fresh_topology.sentinel_users["admin"]
    topology = module.Topology({"sentinels": fresh_topology.sentinel_addresses, "cli": ["redis-cli"],
                                "sentinel_user": sentinel.username, "sentinel_password": sentinel.password,
                                "user": admin.username, "password": admin.password, "host_layout": str(HOST_LAYOUT),
                                "timeout": 30})
    shard = fresh_topology.shard_names[0]
    master = fresh_topology.wait_for_master_agreement(shard)
    replica = next(m.address for m in fresh_topology.shard(shard).members if m.address != tuple(master))
    topology.demote(address_text(replica), address_text(master))
    role = fresh_topology.redis_client(replica).execute_command("ROLE")
    assert [role[0], int(role[2]), role[3]] == [b"slave", master[1], b"connected"]

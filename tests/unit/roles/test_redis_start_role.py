"""redis_start_role.py, the redis_server unit's ExecStartPre: a restarted instance whose shard failed over
meanwhile starts as a replica of the master the Sentinels name, never as a second master.

Installed as on a data host (redis_topology.install_start_helper: the script next to redis_wire.py and the shardinel/
package holding addresses.py and sentinel_answers.py) and run as the unit runs it (python3 <script> <shard> <settings>
<output>), against real Sentinels.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from redis_topology import install_start_helper


def run(tmp_path: Path, shard: str, settings: dict) -> tuple[str, str]:
    """(output file content, journal message); the script must always succeed."""
    script = install_start_helper(tmp_path / "libexec")
    settings_path, output = tmp_path / "start-role.json", tmp_path / f"{shard}-start-role.conf"
    settings_path.write_text(json.dumps(settings), encoding="utf-8")
    # From another directory, as systemd runs it: the imports must come from the script's own directory.
    result = subprocess.run([sys.executable, str(script), shard, str(settings_path), str(output)], cwd="/",
                            capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 0, result.stderr
    return output.read_text(encoding="utf-8"), result.stderr


def settings_for(topology, shard: str, me: str, sentinels: list[str] | None = None) -> dict:
    client = topology.sentinel_users["client"]
    settings = {"sentinels": topology.sentinel_addresses if sentinels is None else sentinels,
                "sentinel_username": client.username, "sentinel_password": client.password, "instances": {shard: me}}
    if topology.tls is not None:
        settings.update(tls=True, tls_ca_file=str(topology.tls.ca), tls_cert_file=str(topology.tls.client_cert),
                        tls_key_file=str(topology.tls.client_key))
    return settings


def replica_of(topology, shard: str, master: tuple[str, int]):
    return next(m for m in topology.shard(shard).members if m.address != tuple(master))


def test_the_master_and_its_replica_start_as_they_are(shared_topology, tmp_path):
    shard = shared_topology.shard_names[0]
    master = shared_topology.wait_for_master_agreement(shard)
    content, message = run(tmp_path, shard, settings_for(shared_topology, shard, f"{master[0]}:{master[1]}"))
    assert "replicaof" not in content and "itself as master" in message
    content, message = run(tmp_path, shard, settings_for(shared_topology, shard, replica_of(shared_topology, shard, master).address_string))
    assert content.splitlines()[-1] == f"replicaof {master[0]} {master[1]}"
    assert "of 3 answering" in message and shared_topology.sentinel_users["client"].password not in message


def test_over_tls(tls_topology, tmp_path):
    shard = tls_topology.shard_names[0]
    master = tls_topology.wait_for_master_agreement(shard)
    content, message = run(tmp_path, shard, settings_for(tls_topology, shard, replica_of(tls_topology, shard, master).address_string))
    assert content.splitlines()[-1] == f"replicaof {master[0]} {master[1]}", message
    wrong_ca = dict(settings_for(tls_topology, shard, "127.0.0.1:1"), tls_ca_file=str(tmp_path / "missing-ca.crt"))
    content, message = run(tmp_path, shard, wrong_ca)
    assert "replicaof" not in content and "no Sentinel answered" in message


def test_no_sentinel_answering_or_bad_settings_start_from_the_own_config(shared_topology, tmp_path):
    shard = shared_topology.shard_names[0]
    closed = settings_for(shared_topology, shard, "127.0.0.1:1", sentinels=["127.0.0.1:1", "127.0.0.1:2"])
    content, message = run(tmp_path, shard, closed)
    assert "replicaof" not in content and "no Sentinel answered" in message
    wrong_password = dict(settings_for(shared_topology, shard, "127.0.0.1:1"), sentinel_password="not-the-password")
    content, message = run(tmp_path, shard, wrong_password)
    assert "replicaof" not in content and "no Sentinel answered" in message
    content, message = run(tmp_path, "not-in-settings", closed)
    assert "replicaof" not in content and "could not ask the Sentinels for not-in-settings" in message
    # Fields of another shape are refused, not ignored (ignored, they would leave out the password or TLS).
    client = shared_topology.sentinel_users["client"]
    other_shape = {"sentinels": shared_topology.sentinel_addresses, "user": client.username, "password": client.password,
                   "instances": {shard: "127.0.0.1:1"}}
    content, message = run(tmp_path, shard, other_shape)
    assert "replicaof" not in content and "unknown settings password, user (known: sentinels, " in message, message
    assert client.password not in message
    content, message = run(tmp_path, shard, dict(closed, tls={"tls_ca_file": "/ca.crt"}))
    assert "replicaof" not in content and "tls must be true or false" in message, message


def test_a_missing_file_next_to_it_does_not_fail_the_start(shared_topology, tmp_path):
    script = install_start_helper(tmp_path / "libexec")
    (script.parent / "shardinel" / "sentinel_answers.py").unlink()
    settings = tmp_path / "start-role.json"
    settings.write_text(json.dumps(settings_for(shared_topology, "shard1", "127.0.0.1:1")), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script), "shard1", str(settings), str(tmp_path / "out.conf")],
                            capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 0 and "ModuleNotFoundError" in result.stderr, result.stderr
    assert "replicaof" not in (tmp_path / "out.conf").read_text(encoding="utf-8")


def test_a_crashed_master_restarts_as_a_replica_of_the_promoted_one_whatever_a_stale_sentinel_says(fresh_topology, tmp_path):
    topology = fresh_topology
    shard = topology.shard_names[0]
    old_address = topology.wait_for_master_agreement(shard)
    old = topology.process_at(old_address)
    # The first Sentinel listed misses the failover and restarts from its config, which no longer names the shard's
    # replica: it cannot hear the others' new configuration, so it still names the crashed master, with the config
    # epoch from before the failover. The others' higher epoch must win although it answers first in the list.
    stale = topology.sentinels[0]
    stale.kill(signal.SIGKILL)
    old.kill(signal.SIGKILL)
    new_address = topology.wait_for_master_agreement(shard, not_address=old_address, timeout=40)
    lines = stale.config.read_text(encoding="utf-8").splitlines()
    stale.config.write_text("\n".join(line for line in lines if not line.startswith(f"sentinel known-replica {shard} ")) + "\n",
                            encoding="utf-8")
    topology.restart(stale)
    client = topology.sentinel_client(stale)
    try:
        stale_state = client.sentinel_master(shard)
    finally:
        client.close()
    assert (stale_state["ip"], int(stale_state["port"])) == tuple(old_address), stale_state
    content, message = run(tmp_path, shard, settings_for(topology, shard, old.address_string))
    assert content.splitlines()[-1] == f"replicaof {new_address[0]} {new_address[1]}", message
    assert "of 3 answering" in message and f"Sentinel {stale.address_string} " not in message, message
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

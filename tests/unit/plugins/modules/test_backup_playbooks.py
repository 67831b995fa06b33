"""playbooks/backup.yml and playbooks/restore.yml (through the redis_server role's backup and restore entry points)
against a real topology, with the shardinel role's facts given as extra vars (--start-at-task skips the play's first
role, which needs deployed hosts): check mode changes nothing, a set is written and fetched to the controller, a wrong
set is refused before any change, and a restore brings the data back and prints its table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from backup_data import everything, write_calls  # pylint: disable=import-error
from module_runner import COLLECTIONS, all_secrets  # pylint: disable=import-error
from redis_topology import RedisTopology

FIRST_TASK = {"backup": "Name the set once, for every host", "restore": "The restore settings are valid"}


def run_playbook(topology: RedisTopology, tmp_path: Path, name: str, *arguments: str,
                 **extra_vars: Any) -> subprocess.CompletedProcess[str]:
    """Two local "data hosts": server1 at 127.0.0.1, where every instance listens, and server2 at an address where none
    does (it backs up nothing and holds nothing)."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {
        "children": {group: {"hosts": {"server1": {}, "server2": {}}} for group in ("redis_servers", "redis_sentinels")},
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
    }}))
    facts = {
        "shardinel_sentinel_addresses": topology.sentinel_addresses,
        "shardinel_host_ips": {"server1": "127.0.0.1", "server2": "127.0.0.9"},
        "shardinel_layout": [{"name": shard.name} for shard in topology.shards],
        "shardinel_tls_options": {"tls_ca_file": None, "tls_cert_file": None, "tls_key_file": None},
        "shardinel_sentinel_client_username": topology.sentinel_users["client"].username,
        "shardinel_sentinel_client_password": topology.sentinel_users["client"].password,
        "shardinel_admin_username": topology.users["admin"].username,
        "shardinel_admin_password": topology.users["admin"].password,
        "redis_server_binary": "/usr/bin/redis-server",
        "redis_server_backup_directory": str(tmp_path / "{{ inventory_hostname }}" / "backups"),
        "redis_server_backup_metrics_file": "",
    }
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(facts | extra_vars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra}",
         "--start-at-task", FIRST_TASK[name], *arguments, f"shardinel.redis.{name}"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )


def printed_table(stdout: str, task: str) -> list[str]:
    start = stdout.index(f"TASK [{task}]")
    body = stdout[stdout.index("{", start):stdout.index("\nTASK [", start) if "\nTASK [" in stdout[start + 10:] else None]
    return list(json.loads(body[:body.rindex("}") + 1])["msg"])


def test_backup_and_restore_playbooks(fresh_topology: RedisTopology, tmp_path: Path) -> None:
    topology = fresh_topology
    for shard in topology.shards:
        client = topology.redis_client(shard.master.address)
        client.set(f"{shard.name}:kept", "before", ex=900)
        client.execute_command("WAIT", 1, 5000)
        client.close()
    before, calls = everything(topology), write_calls(topology)

    checked = run_playbook(topology, tmp_path, "backup", "--check", shardinel_backup_set="nightly")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert not (tmp_path / "server1").exists()
    table = printed_table(checked.stdout, "Print what each host backed up")
    assert table[0] == "Backup set nightly (check mode: nothing written)"
    assert [[cell.strip() for cell in line.split(" | ")][:4] for line in table[3:]] == [
        [shard.name, "server1", shard.replica.address_string, "replica"] for shard in topology.shards]

    fetched = tmp_path / "fetched"
    done = run_playbook(topology, tmp_path, "backup", shardinel_backup_set="nightly", shardinel_backup_fetch=True,
                        shardinel_backup_fetch_dir=str(fetched))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert sorted(path.name for path in (tmp_path / "server1" / "backups" / "nightly").iterdir()) == [
        "set.json", "shard1.json", "shard1.rdb", "shard2.json", "shard2.rdb"]
    assert sorted(path.name for path in (fetched / "nightly" / "server1").iterdir()) == [
        "set.json", "shard1.json", "shard1.rdb", "shard2.json", "shard2.rdb"]
    assert not (fetched / "nightly" / "server2").exists()
    assert everything(topology) == before

    refused = run_playbook(topology, tmp_path, "restore", shardinel_restore_set="weekly")
    assert refused.returncode != 0
    assert "Nothing was restored: shard1: no data host holds it in the backup set" in refused.stdout
    assert "server1: backup_set: no set named weekly" in refused.stdout

    for shard in topology.shards:
        client = topology.redis_client(shard.master.address)
        client.flushall()
        client.set(f"{shard.name}:kept", "after")
        client.execute_command("WAIT", 1, 5000)
        client.close()
    damaged = everything(topology)
    planned = run_playbook(topology, tmp_path, "restore", "--check", shardinel_restore_set="latest")
    assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-2000:]
    table = printed_table(planned.stdout, "Say what would be restored")
    assert [[cell.strip() for cell in line.split(" | ")][:4] for line in table[2:]] == [
        [shard.name, "server1", "nightly", shard.master.address_string] for shard in topology.shards]
    assert everything(topology) == damaged

    # server2 lost its backups: its part comes back from the controller (it held none, so nothing is copied)
    restored = run_playbook(topology, tmp_path, "restore", shardinel_restore_set="nightly", shardinel_restore_upload=True,
                            shardinel_backup_fetch_dir=str(fetched))
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-2000:]
    table = printed_table(restored.stdout, "Print the keys restored and the write pause of each shard")
    assert [[cell.strip() for cell in line.split(" | ")][:5] for line in table[2:]] == [
        [shard.name, "server1", "nightly", shard.master.address_string, "1"] for shard in topology.shards]
    after = everything(topology)
    for shard in topology.shards:
        client = topology.redis_client(shard.master.address)
        assert client.get(f"{shard.name}:kept") == b"before" and 0 < client.ttl(f"{shard.name}:kept") <= 900
        client.close()
        for member in shard.members:
            assert after[member.name]["run_id"] == before[member.name]["run_id"]
    assert after["sentinels"] == before["sentinels"]
    assert write_calls(topology)["shard1-master restore"] > calls["shard1-master restore"]
    for completed in (checked, done, refused, planned, restored):
        assert not any(secret in completed.stdout + completed.stderr for secret in all_secrets(topology))

"""shardinel.redis.backup against real processes: the snapshot of each shard from an in-sync replica (or the master),
its metadata and checks, retention, the metrics file, and the failures that name the shard."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Iterator

import pytest

from backup_data import LAYOUT, module_args, publish, write_calls  # pylint: disable=import-error
from module_runner import ModuleRunner, all_secrets, module_runner  # pylint: disable=import-error
from redis_topology import RedisTopology

from shardinel import ShardedSentinelClient  # pylint: disable=import-error


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTopology]:
    started = RedisTopology.start(tmp_path_factory.mktemp("backup-topology"), shard_count=2)
    try:
        publish(started, LAYOUT)
        client = ShardedSentinelClient(started.sentinel_addresses, **started.client_kwargs())
        try:
            for i in range(300):
                client.set(f"key:{i}", f"value {i}")
            client.set("expiring", "soon", ex=600)
        finally:
            client.close()
        yield started
    finally:
        started.stop()


@pytest.fixture()
def run(tmp_path: Path) -> ModuleRunner:
    return module_runner(tmp_path)


def keys_on(topology: RedisTopology, address: tuple[str, int]) -> int:
    client = topology.redis_client(address)
    try:
        return sum(entry["keys"] for entry in client.info("keyspace").values())
    finally:
        client.close()


def test_check_mode_says_where_each_shard_comes_from_and_writes_nothing(topology: RedisTopology, tmp_path: Path,
                                                                        run: ModuleRunner) -> None:
    directory = tmp_path / "backups"
    calls = write_calls(topology)
    result = run("backup", module_args(topology, directory, backup_set="planned"), check_mode=True)
    assert result.rc == 0, result.get("msg")
    assert result["changed"] is True
    for shard in topology.shards:
        planned = result["shards"][shard.name]
        assert planned["source"] == shard.replica.address_string and planned["role"] == "replica"
        assert planned["master"] == shard.master.address_string
    assert not directory.exists()
    assert write_calls(topology) == calls


def test_a_set_holds_each_shard_with_its_metadata_and_no_secret(topology: RedisTopology, tmp_path: Path,
                                                                run: ModuleRunner) -> None:
    directory = tmp_path / "backups"
    metrics = tmp_path / "textfile" / "shardinel-redis-backup.prom"
    master_forks = {shard.name: topology.redis_client(shard.master.address).info("persistence")["rdb_saves"]
                    for shard in topology.shards}
    result = run("backup", module_args(topology, directory, backup_set="first", metrics_file=str(metrics)))
    assert result.rc == 0, result.get("msg")
    assert result["changed"] is True and result["failed_shards"] == {}
    set_dir = directory / "first"
    assert stat.S_IMODE(set_dir.stat().st_mode) == 0o700
    manifest = json.loads((set_dir / "set.json").read_text())
    assert manifest["shards"] == ["shard1", "shard2"] and manifest["failed"] == {}
    for shard in topology.shards:
        metadata = json.loads((set_dir / f"{shard.name}.json").read_text())
        assert metadata == result["shards"][shard.name]
        rdb = set_dir / metadata["file"]
        assert stat.S_IMODE(rdb.stat().st_mode) == 0o600
        assert metadata["size"] == rdb.stat().st_size
        assert metadata["sha256"] == hashlib.sha256(rdb.read_bytes()).hexdigest()
        assert rdb.read_bytes()[:9] == b"REDIS0010" and metadata["rdb_version"] == 10
        assert metadata["layout"] == LAYOUT
        assert (metadata["engine"], metadata["engine_version"]) == ("redis", "7.0.15")
        assert metadata["source"]["address"] == shard.replica.address_string
        assert metadata["source"]["role"] == "replica"
        assert metadata["source"]["master"] == shard.master.address_string
        assert isinstance(metadata["replication"]["offset"], int) and len(metadata["replication"]["id"]) == 40
        # the application's keys and the layout key in database 15
        assert metadata["keys"] == keys_on(topology, shard.replica.address)
        assert metadata["databases"] == [0, 15]
    # the masters did not fork: the replicas gave the snapshots
    assert {shard.name: topology.redis_client(shard.master.address).info("persistence")["rdb_saves"]
            for shard in topology.shards} == master_forks
    for path in set_dir.iterdir():
        text = path.read_bytes()
        for secret in all_secrets(topology):
            assert secret.encode() not in text, f"a password is in {path.name}"
    assert not any(secret in result.output for secret in all_secrets(topology))
    text = metrics.read_text()
    for shard in topology.shards:
        size = result["shards"][shard.name]["size"]
        assert f'shardinel_backup_last_success_size_bytes{{shard="{shard.name}"}} {size}' in text
        assert f'shardinel_backup_last_run_success{{shard="{shard.name}"}} 1' in text
        assert f'shardinel_backup_last_success_timestamp_seconds{{shard="{shard.name}"}} ' \
               f'{result["shards"][shard.name]["finished_unix"]}' in text
    again = run("backup", module_args(topology, directory, backup_set="first"))
    assert again.rc == 1 and "backup_set: a set named first exists" in again["msg"]


def test_from_the_master_when_told_and_only_the_shards_of_the_host(topology: RedisTopology, tmp_path: Path,
                                                                   run: ModuleRunner) -> None:
    directory = tmp_path / "backups"
    result = run("backup", module_args(topology, directory, source="master", shards=["shard2"], backup_set="m"))
    assert result.rc == 0, result.get("msg")
    assert list(result["shards"]) == ["shard2"]
    assert result["shards"]["shard2"]["source"]["address"] == topology.shard("shard2").master.address_string
    assert result["shards"]["shard2"]["source"]["role"] == "master"
    elsewhere = run("backup", module_args(topology, directory, host="127.0.0.9"))
    assert elsewhere.rc == 0 and elsewhere["changed"] is False and elsewhere["shards"] == {}
    assert sorted(os.listdir(directory)) == [".lock", "m"]
    unknown = run("backup", module_args(topology, directory, shards=["shard9"]))
    assert unknown.rc == 1 and unknown["msg"].startswith("shards: no Sentinel monitors shard9")


def test_keep_removes_the_oldest_sets(topology: RedisTopology, tmp_path: Path, run: ModuleRunner) -> None:
    directory = tmp_path / "backups"
    for name in ("a1", "a2", "a3"):
        result = run("backup", module_args(topology, directory, backup_set=name, keep=2))
        assert result.rc == 0, result.get("msg")
    assert result["removed_sets"] == ["a1"]
    assert sorted(path.name for path in directory.iterdir() if not path.name.startswith(".")) == ["a2", "a3"]
    planned = run("backup", module_args(topology, directory, backup_set="a4", keep=2), check_mode=True)
    assert planned["removed_sets"] == ["a2"]
    assert sorted(path.name for path in directory.iterdir() if not path.name.startswith(".")) == ["a2", "a3"]


def test_a_reshard_in_progress_fails_the_backup_naming_each_shard(topology: RedisTopology, tmp_path: Path,
                                                                  run: ModuleRunner) -> None:
    publish(topology, {"version": 4, "shards": ["shard1", "shard2"], "previous": ["shard1"], "lease_s": 5.0})
    try:
        result = run("backup", module_args(topology, tmp_path / "backups", backup_set="moving"))
    finally:
        publish(topology, LAYOUT)
    assert result.rc == 1
    assert result["msg"].startswith("the backup of shard1, shard2 failed: shard1: a reshard is unfinished")
    assert "version 4" in result["msg"]
    assert set(result["failed_shards"]) == {"shard1", "shard2"}


def test_a_shard_without_an_in_sync_replica_fails_naming_it(fresh_topology: RedisTopology, tmp_path: Path,
                                                            run: ModuleRunner) -> None:
    directory = tmp_path / "backups"
    replica = fresh_topology.shard("shard2").replica
    replica.kill()
    result = run("backup", module_args(fresh_topology, directory, backup_set="half", keep=1))
    assert result.rc == 1
    assert result["msg"].startswith("the backup of shard2 failed: shard2: no replica in sync with the master")
    assert replica.address_string in result["msg"]
    assert list(result["shards"]) == ["shard1"]
    manifest = json.loads((directory / "half" / "set.json").read_text())
    assert manifest["shards"] == ["shard1"] and list(manifest["failed"]) == ["shard2"]
    assert not (directory / "half" / "shard2.rdb").exists()
    from_master = run("backup", module_args(fresh_topology, directory, backup_set="whole", source="master", keep=1))
    assert from_master.rc == 0, from_master.get("msg")
    # a complete set replaces every older one, the incomplete one included
    assert from_master["removed_sets"] == ["half"]


def test_over_tls(tmp_path: Path, run: ModuleRunner) -> None:
    topology = RedisTopology.start(tmp_path / "tls-topology", shard_count=1, tls=True)
    try:
        args = module_args(topology, tmp_path / "backups", backup_set="tls", tls=True,
                           tls_ca_file=str(topology.tls.ca), tls_cert_file=str(topology.tls.client_cert),
                           tls_key_file=str(topology.tls.client_key))
        result = run("backup", args)
        assert result.rc == 0, result.get("msg")
        assert result["shards"]["shard1"]["source"]["address"] == topology.shard("shard1").replica.address_string
        plain = run("backup", dict(args, tls=False, tls_ca_file=None, tls_cert_file=None, tls_key_file=None,
                                   backup_set="plain"))
        assert plain.rc == 1
    finally:
        topology.stop()


def test_bad_options_are_refused_naming_them(topology: RedisTopology, tmp_path: Path, run: ModuleRunner) -> None:
    for extra, message in (({"keep": -1}, "keep:"), ({"backup_set": "../x"}, "backup_set:"), ({"max_lag": 0}, "max_lag:"),
                           ({"shards": ["a/b"]}, "shards:"), ({"backup_set": "latest"}, "backup_set:")):
        result = run("backup", module_args(topology, tmp_path / "backups", **extra))
        assert result.rc == 1 and result["msg"].startswith(message), (extra, result["msg"])
    assert not (tmp_path / "backups").exists()
    missing = run("backup", module_args(topology, tmp_path / "backups", check_rdb="/nonexistent/redis-check-rdb"))
    assert missing.rc == 1 and "shard1: check_rdb: cannot run /nonexistent/redis-check-rdb" in missing["msg"]
    assert not any(path.suffix == ".rdb" for path in (tmp_path / "backups").rglob("*"))


def secrets_free(result: dict[str, Any], topology: RedisTopology) -> bool:
    return not any(secret in json.dumps(result) for secret in all_secrets(topology))

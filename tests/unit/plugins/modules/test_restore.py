"""shardinel.redis.restore against real processes: every data type, TTLs and two databases back after the data was
wiped and overwritten, read by a client built before without a restart, under a writer whose longest pause is the
swap; a single shard restored without touching the other; every refusal before any change."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from backup_data import (  # pylint: disable=import-error
    DATABASES, LAYOUT, everything, holdings, module_args, publish, read_back, write_calls, write_data_set)
from module_runner import ModuleRunner, all_secrets, module_runner  # pylint: disable=import-error
from redis_topology import RedisTopology

from shardinel import ShardedSentinelClient  # pylint: disable=import-error


class Writer:
    """SETs keys w:<n> through a shardinel client every 2 ms and records the longest time between two acknowledged
    writes and every error."""

    def __init__(self, client: Any) -> None:
        self.client, self.count, self.longest, self.errors = client, 0, 0.0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                self.client.set(f"w:{self.count}", "x")
                self.count += 1
                now = time.monotonic()
                self.longest, last = max(self.longest, now - last), now
            except Exception as error:  # pylint: disable=broad-except
                self.errors.append(repr(error))
            time.sleep(0.002)

    def __enter__(self) -> "Writer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTopology]:
    """Two shards with the data set in databases 0 and 1, a published layout and a previous owner's mark."""
    started = RedisTopology.start(tmp_path_factory.mktemp("restore-topology"), shard_count=2)
    try:
        publish(started, LAYOUT, moving=2)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def expected(topology: RedisTopology) -> dict[int, dict[str, Any]]:
    written = {}
    for db in DATABASES:
        client = ShardedSentinelClient(topology.sentinel_addresses, db=db, **topology.client_kwargs())
        try:
            written[db] = write_data_set(client, db)
        finally:
            client.close()
    for shard in topology.shards:
        master = topology.redis_client(shard.master.address)
        assert master.execute_command("WAIT", 1, 5000) == 1
        master.close()
    return written


@pytest.fixture(scope="module")
def backup_dir(topology: RedisTopology, expected: dict[int, dict[str, Any]],
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One set, "taken", of both shards."""
    directory = tmp_path_factory.mktemp("restore-backups")
    result = module_runner(directory)("backup", module_args(topology, directory / "sets", backup_set="taken"))
    assert result.rc == 0, result.get("msg")
    return directory / "sets"


@pytest.fixture()
def run(tmp_path: Path) -> ModuleRunner:
    return module_runner(tmp_path)


def damage(topology: RedisTopology, shard_names: list[str]) -> None:
    """What an operator's mistake or a bad deploy does: database 0 wiped, database 1 overwritten and added to."""
    for name in shard_names:
        master = topology.redis_client(topology.shard(name).master.address)
        master.flushdb()
        master.set("added:0", "not in the backup")
        other = topology.redis_client(topology.shard(name).master.address, db=1)
        for key in other.scan_iter(match="s:*"):
            other.set(key, b"overwritten")
        other.set("added:1", "not in the backup")
        master.execute_command("WAIT", 1, 5000)
        master.close()
        other.close()


def test_check_mode_says_what_would_be_restored_and_changes_nothing(topology: RedisTopology, backup_dir: Path,
                                                                    run: ModuleRunner) -> None:
    before, calls = everything(topology), write_calls(topology)
    result = run("restore", module_args(topology, backup_dir, backup_set="taken"), check_mode=True)
    assert result.rc == 0, result.get("msg")
    assert result["changed"] is True and result["restored"] == []
    for shard in topology.shards:
        planned = result["shards"][shard.name]
        assert planned["master"] == shard.master.address_string
        assert planned["staging_databases"] == {"0": 14, "1": 13}
        assert planned["set_layout"] == LAYOUT
    assert result["live_layout"] == {"version": 3, "shards": ["shard1", "shard2"]}
    assert everything(topology) == before and write_calls(topology) == calls


def test_everything_comes_back_for_a_client_built_before(topology: RedisTopology, expected: dict[int, dict[str, Any]],
                                                         backup_dir: Path, run: ModuleRunner) -> None:
    before = everything(topology)
    clients = {db: ShardedSentinelClient(topology.sentinel_addresses, db=db, **topology.client_kwargs()) for db in DATABASES}
    try:
        assert read_back(clients[0], "s:0:1") == expected[0]["s:0:1"]
        damage(topology, ["shard1", "shard2"])
        assert clients[0].get("s:0:1") is None and clients[1].get("s:1:1") == b"overwritten"
        with Writer(clients[0]) as writer:
            time.sleep(0.2)
            result = run("restore", module_args(topology, backup_dir, backup_set="latest"))
            time.sleep(0.2)
        assert result.rc == 0, result.get("msg")
        assert result["restored"] == ["shard1", "shard2"] and result["backup_set"] == "taken"
        assert writer.errors == [] and writer.count > 50
        for shard in topology.shards:
            report = result["shards"][shard.name]
            assert report["keys_restored"] == sum(report["databases"].values())
            assert report["keys_restored"] == report["keys_in_set"] - 2  # the layout and moving keys stay in db 15
            assert report["replicas_acknowledged"] == 1
            assert report["write_pause_s"] < 0.05
        # the writer never waited much longer than its own pace: the swap is the only pause
        assert writer.longest < 0.5, writer.longest
        for db in DATABASES:
            for key, value in expected[db].items():
                assert read_back(clients[db], key) == value, key
            assert clients[db].get(f"added:{db}") is None
            assert 3590 < clients[db].ttl(f"t:{db}:3") <= 3600
        after = everything(topology)
        for name, state in before.items():
            if name == "sentinels":
                assert after[name] == state
                continue
            assert after[name]["acl"] == state["acl"] and after[name]["run_id"] == state["run_id"], name
            assert after[name]["data"] == state["data"], name
    finally:
        for client in clients.values():
            client.close()
    assert not any(secret in result.output for secret in all_secrets(topology))


def test_one_shard_is_restored_and_the_other_left_alone(topology: RedisTopology, backup_dir: Path,
                                                        run: ModuleRunner) -> None:
    restored = {member.name: holdings(topology, member.address) for member in topology.shard("shard1").members}
    damage(topology, ["shard1", "shard2"])
    damaged = {member.name: holdings(topology, member.address) for member in topology.shard("shard2").members}
    calls = write_calls(topology)
    result = run("restore", module_args(topology, backup_dir, backup_set="taken", shards=["shard1"]))
    assert result.rc == 0, result.get("msg")
    assert result["restored"] == ["shard1"] and list(result["shards"]) == ["shard1"]
    for member in topology.shard("shard1").members:
        assert holdings(topology, member.address) == restored[member.name]
    for member in topology.shard("shard2").members:
        assert holdings(topology, member.address) == damaged[member.name]
    after = write_calls(topology)
    assert all(after[key] == calls[key] for key in calls if key.startswith("shard2")), "shard2 took a write"
    again = run("restore", module_args(topology, backup_dir, backup_set="taken", shards=["shard2"]))
    assert again.rc == 0, again.get("msg")


def copy_set(backup_dir: Path, name: str) -> Path:
    """A copy of set "taken" under another name, to break."""
    target = backup_dir / name
    shutil.copytree(backup_dir / "taken", target)
    manifest = json.loads((target / "set.json").read_text())
    manifest["set"] = name
    (target / "set.json").write_text(json.dumps(manifest))
    for shard in manifest["shards"]:
        metadata = json.loads((target / f"{shard}.json").read_text())
        metadata["set"] = name
        (target / f"{shard}.json").write_text(json.dumps(metadata))
    return target


def edit_metadata(set_dir: Path, shard: str, **fields: Any) -> None:
    path = set_dir / f"{shard}.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), **fields)))


def corrupt(set_dir: Path, shard: str, rehash: bool) -> None:
    """Flip bytes in the middle of the file; with ``rehash`` the metadata is made to match, so only the engine's check
    can tell."""
    import hashlib

    rdb = set_dir / f"{shard}.rdb"
    data = bytearray(rdb.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 8):
        data[offset] ^= 0xFF
    rdb.write_bytes(bytes(data))
    if rehash:
        edit_metadata(set_dir, shard, sha256=hashlib.sha256(bytes(data)).hexdigest())


REFUSALS = {
    "unknown set": (lambda d: None, dict(backup_set="nope"), "backup_set: no set named nope in "),
    "unknown shard": (lambda d: None, dict(backup_set="taken", shards=["shard7"]),
                      "shards: shard7 is not in backup set taken on this host (it holds shard1, shard2)"),
    "checksum": (lambda d: corrupt(copy_set(d, "flipped"), "shard2", rehash=False), dict(backup_set="flipped"),
                 "shard2: {dir}/flipped/shard2.rdb is corrupt: its SHA-256 differs"),
    "engine check": (lambda d: corrupt(copy_set(d, "rehashed"), "shard1", rehash=True), dict(backup_set="rehashed"),
                     "shard1: {dir}/rehashed/shard1.rdb is corrupt: redis-check-rdb refuses"),
    "missing file": (lambda d: (copy_set(d, "missing") / "shard2.rdb").unlink(), dict(backup_set="missing"),
                     "shard2: backup set missing is incomplete: {dir}/missing/shard2.rdb is missing"),
    "incomplete": (lambda d: (copy_set(d, "partial") / "set.json").write_text(json.dumps(dict(
        json.loads((d / "taken" / "set.json").read_text()), set="partial", shards=["shard1"], failed={"shard2": "boom"}))),
        dict(backup_set="partial"), "backup set partial is incomplete: the backup of shard2 failed"),
    "other layout": (lambda d: edit_metadata(copy_set(d, "older"), "shard1", layout={"version": 2, "shards": ["shard1"]}),
                     dict(backup_set="older"), "shard1: backup set older was taken with the layout shard1 (version 2) and "
                     "the live one is shard1, shard2 (version 3)"),
    "other engine": (lambda d: edit_metadata(copy_set(d, "valkey"), "shard2", engine="valkey"),
                     dict(backup_set="valkey", check_rdb="/usr/bin/redis-check-rdb"),
                     "shard2: backup set valkey holds valkey data and its master"),
    "no checker": (lambda d: None, dict(backup_set="taken", check_rdb="/nonexistent/redis-check-rdb"),
                   "shard1: check_rdb: cannot run /nonexistent/redis-check-rdb"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_bad_set_is_refused_before_any_change(case: str, topology: RedisTopology, backup_dir: Path,
                                                run: ModuleRunner) -> None:
    prepare, extra, message = REFUSALS[case]
    prepare(backup_dir)
    before, calls = everything(topology), write_calls(topology)
    for check_mode in (True, False):
        result = run("restore", module_args(topology, backup_dir, **extra), check_mode=check_mode)
        assert result.rc == 1, result
        assert result["msg"].startswith(message.format(dir=backup_dir)), result["msg"]
        assert result["restored"] == []
    assert everything(topology) == before and write_calls(topology) == calls


def test_a_reshard_in_progress_or_another_live_layout_is_refused(topology: RedisTopology, backup_dir: Path,
                                                                 run: ModuleRunner) -> None:
    cases = (({"version": 4, "shards": ["shard1", "shard2"], "previous": ["shard1"], "lease_s": 5.0},
              "a reshard is unfinished: the published layout (version 4) moves keys from shard1 to shard1, shard2"),
             ({"version": 5, "shards": ["shard1", "shard2", "shard3"], "lease_s": 5.0},
              "shard1: backup set taken was taken with the layout shard1, shard2 (version 3) and the live one is "
              "shard1, shard2, shard3 (version 5)"))
    try:
        for layout, message in cases:
            publish(topology, layout)
            before, calls = everything(topology), write_calls(topology)
            result = run("restore", module_args(topology, backup_dir, backup_set="taken"))
            assert result.rc == 1 and result["msg"].startswith(message), result["msg"]
            assert everything(topology) == before and write_calls(topology) == calls
    finally:
        publish(topology, LAYOUT)


def test_too_little_memory_or_no_free_database_is_refused(topology: RedisTopology, backup_dir: Path,
                                                          run: ModuleRunner) -> None:
    master = topology.redis_client(topology.shard("shard2").master.address)
    used = master.info("memory")["used_memory"]
    master.config_set("maxmemory", used + 50000)
    try:
        result = run("restore", module_args(topology, backup_dir, backup_set="taken"))
    finally:
        master.config_set("maxmemory", 0)
    assert result.rc == 1 and result["msg"].startswith("shard2: its master %s has maxmemory" % topology.shard("shard2").master.address_string)
    fillers = [topology.redis_client(topology.shard("shard1").master.address, db=db) for db in range(2, 15)]
    for client in fillers:
        client.set("filler", "1")
    try:
        result = run("restore", module_args(topology, backup_dir, backup_set="taken"))
    finally:
        for client in fillers:
            client.delete("filler")
            client.close()
    assert result.rc == 1 and result["msg"].startswith("shard1: staging the snapshot's 2 database(s) needs as many "
                                                       "databases empty"), result["msg"]
    master.close()


def test_over_tls(tmp_path: Path, run: ModuleRunner) -> None:
    topology = RedisTopology.start(tmp_path / "tls-topology", shard_count=1, tls=True)
    try:
        client = topology.redis_client(topology.shard("shard1").master.address)
        client.set("kept", "yes", ex=900)
        client.execute_command("WAIT", 1, 5000)
        args = module_args(topology, tmp_path / "backups", tls=True, tls_ca_file=str(topology.tls.ca),
                           tls_cert_file=str(topology.tls.client_cert), tls_key_file=str(topology.tls.client_key))
        assert run("backup", dict(args, backup_set="tls")).rc == 0
        client.flushall()
        result = run("restore", dict(args, backup_set="tls"))
        assert result.rc == 0, result.get("msg")
        assert client.get("kept") == b"yes" and 890 < client.ttl("kept") <= 900
        client.close()
    finally:
        topology.stop()


def test_a_binary_connection_gives_bulk_strings_as_bytes(topology: RedisTopology) -> None:
    """redis_wire's binary mode, which the restore's copy uses for DUMP payloads."""
    from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection

    admin = topology.users["admin"]
    master = topology.shard("shard1").master.address
    client = topology.redis_client(master, db=2)
    client.set("raw", bytes(range(256)))
    try:
        with Connection(master, admin.username, admin.password, binary=True) as connection:
            assert connection.pipeline([["SELECT", 2], ["GET", "raw"], ["DUMP", "raw"]])[1:] == [bytes(range(256)), client.dump("raw")]
        with Connection(master, admin.username, admin.password) as connection:
            assert connection.pipeline([["SELECT", 2], ["GET", "raw"]])[1].encode("utf-8", "surrogateescape") == bytes(range(256))
    finally:
        client.delete("raw")
        client.close()


def test_after_a_flushall_the_recorded_layout_is_published_again(fresh_topology: RedisTopology, tmp_path: Path,
                                                                 run: ModuleRunner) -> None:
    """FLUSHALL empties database 15 too; the restore puts the set's layout back (its version, not a new one)."""
    topology = fresh_topology
    publish(topology, LAYOUT)
    client = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    try:
        written = write_data_set(client, 0)
        assert client.layout.version == 3
        args = module_args(topology, tmp_path / "backups", backup_set="before")
        assert run("backup", args).rc == 0
        for shard in topology.shards:
            master = topology.redis_client(shard.master.address)
            master.flushall()
            master.execute_command("WAIT", 1, 5000)
            master.close()
        planned = run("restore", args, check_mode=True)
        assert planned.rc == 0 and planned["republished_layout"] == LAYOUT, planned
        result = run("restore", args)
        assert result.rc == 0, result.get("msg")
        assert result["live_layout"] == {"version": 0, "shards": ["shard1", "shard2"]}
        assert result["republished_layout"] == LAYOUT
        for shard in topology.shards:
            for member in shard.members:
                layout_db = topology.redis_client(member.address, db=15)
                assert json.loads(layout_db.get("shardinel:layout")) == LAYOUT, member.name
                layout_db.close()
        for key, value in written.items():
            assert read_back(client, key) == value, key
    finally:
        client.close()

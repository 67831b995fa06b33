"""reshard through its module entry point against real redis-server and redis-sentinel processes."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Optional

import pytest

from module_runner import COLLECTIONS, ModuleRunner, all_secrets, connection_args  # pylint: disable=import-error
from shardinel import build_slot_table, key_slot  # pylint: disable=import-error
from shardinel.layout import LAYOUT_DB, Layout, read_layout, write_layout  # pylint: disable=import-error

DBS = (0, 3)
TYPES = ("string", "hash", "list", "set", "zset", "stream")
TTL_S = 3600
Expected = dict[tuple[int, str], tuple[str, Any, Optional[int]]]


def reshard_args(topology: Any, **extra: Any) -> dict[str, Any]:
    return connection_args(topology) | {"lease": 1.0} | extra


def assert_no_secret(result: Any, topology: Any) -> None:
    assert not any(secret in result.output for secret in all_secrets(topology))


def master_address(topology: Any, shard: str) -> tuple[str, int]:
    address: tuple[str, int] = topology.wait_for_master_agreement(shard)
    return address


def layouts(topology: Any) -> dict[str, Optional[Layout]]:
    found = {}
    for shard in topology.shards:
        client = topology.redis_client(master_address(topology, shard.name), db=LAYOUT_DB)
        try:
            found[shard.name] = read_layout(client)
        finally:
            client.close()
    return found


def publish(topology: Any, layout: Layout) -> None:
    for shard in topology.shards:
        client = topology.redis_client(master_address(topology, shard.name), db=LAYOUT_DB)
        try:
            assert write_layout(client, layout, 1, 2.0) == 1
        finally:
            client.close()


# the data set ----------------------------------------------------------------------------------
def value_of(index: int, kind: str) -> Any:
    if kind == "string":
        return f"v{index}"
    if kind == "hash":
        return {"a": str(index), "b": "x" * (index % 7)}
    if kind == "list":
        return [f"{index}-{n}" for n in range(3)]
    if kind == "set":
        return {f"m{index}", "common"}
    if kind == "zset":
        return [("low", 1.0), (f"z{index}", float(index))]
    return [(f"{index + 1}-1", {"f": f"s{index}"})]


def write_value(pipe: Any, key: str, kind: str, value: Any, ttl: Optional[int]) -> None:
    if kind == "string":
        pipe.set(key, value)
    elif kind == "hash":
        pipe.hset(key, mapping=value)
    elif kind == "list":
        pipe.rpush(key, *value)
    elif kind == "set":
        pipe.sadd(key, *value)
    elif kind == "zset":
        pipe.zadd(key, dict(value))
    else:
        pipe.xadd(key, value[0][1], id=value[0][0])
    if ttl:
        pipe.expire(key, ttl)


def read_value(client: Any, key: bytes) -> tuple[str, Any, int]:
    kind = client.type(key).decode()
    if kind == "string":
        value: Any = client.get(key).decode()
    elif kind == "hash":
        value = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
    elif kind == "list":
        value = [v.decode() for v in client.lrange(key, 0, -1)]
    elif kind == "set":
        value = {v.decode() for v in client.smembers(key)}
    elif kind == "zset":
        value = [(m.decode(), s) for m, s in client.zrange(key, 0, -1, withscores=True)]
    else:
        value = [(i.decode(), {k.decode(): v.decode() for k, v in fields.items()}) for i, fields in client.xrange(key)]
    return kind, value, client.pttl(key)


def write_dataset(topology: Any, owners: Iterable[str], count: int, prefix: str = "rs") -> Expected:
    """``count`` keys of every type over DBS, a third with a TTL, each on its owner under ``owners``' table."""
    table = build_slot_table(list(owners))
    expected: Expected = {}
    batches: dict[tuple[str, int], list[tuple[str, str, Any, Optional[int]]]] = collections.defaultdict(list)
    for index in range(count):
        kind, db = TYPES[index % len(TYPES)], DBS[(index // len(TYPES)) % len(DBS)]
        key, ttl = f"{prefix}:{kind}:{index}", TTL_S if index % 3 == 0 else None
        expected[(db, key)] = (kind, value_of(index, kind), ttl)
        batches[(table[key_slot(key)], db)].append((key, kind, value_of(index, kind), ttl))
    for (shard, db), items in batches.items():
        client = topology.redis_client(master_address(topology, shard), db=db)
        pipe = client.pipeline(transaction=False)
        for item in items:
            write_value(pipe, *item)
        pipe.execute()
        client.close()
    return expected


def snapshot(topology: Any) -> dict[tuple[int, str], list[tuple[str, tuple[str, Any, int]]]]:
    """Every key of DBS on every master: (db, key) -> [(shard, (type, value, pttl)), ...]."""
    found: dict[tuple[int, str], list[tuple[str, tuple[str, Any, int]]]] = collections.defaultdict(list)
    for shard in topology.shards:
        for db in DBS:
            client = topology.redis_client(master_address(topology, shard.name), db=db)
            try:
                for key in client.scan_iter(count=1000):
                    found[(db, key.decode())].append((shard.name, read_value(client, key)))
            finally:
                client.close()
    return found


def contents(topology: Any) -> dict[tuple[int, str], list[tuple[str, str, Any, bool]]]:
    """snapshot() with "has a TTL" for the TTL, to compare before and after a run that should change nothing."""
    return {key: [(shard, kind, value, pttl > 0) for shard, (kind, value, pttl) in copies]
            for key, copies in snapshot(topology).items()}


def assert_every_key_on_its_owner(topology: Any, expected: Expected, owners: Iterable[str]) -> None:
    """Each expected key exactly once, on its owner under ``owners``, with its type, value and TTL; no other key."""
    table = build_slot_table(list(owners))
    found = snapshot(topology)
    assert set(found) == set(expected), (set(found) ^ set(expected))
    misplaced = {key: [s for s, _v in copies] for key, copies in found.items()
                 if [s for s, _v in copies] != [table[key_slot(key[1])]]}
    assert not misplaced, f"{len(misplaced)} keys lost, duplicated or misplaced, e.g. {list(misplaced.items())[:3]}"
    for key, [(_shard, (kind, value, pttl))] in found.items():
        want_kind, want_value, ttl = expected[key]
        assert (kind, value) == (want_kind, want_value), key
        assert (0 < pttl <= ttl * 1000) if ttl else pttl == -1, (key, pttl)


def keys_to_move(expected: Expected, old: Iterable[str], new: Iterable[str]) -> dict[tuple[str, str], int]:
    before, after = build_slot_table(list(old)), build_slot_table(list(new))
    counts: dict[tuple[str, str], int] = collections.Counter()
    for _db, key in expected:
        slot = key_slot(key)
        if before[slot] != after[slot]:
            counts[(before[slot], after[slot])] += 1
    return dict(counts)


def slots_to_move(old: Iterable[str], new: Iterable[str]) -> dict[tuple[str, str], int]:
    return dict(collections.Counter((a, b) for a, b in zip(build_slot_table(list(old)), build_slot_table(list(new))) if a != b))


def start_module(work_dir: Path, args: dict[str, Any]) -> subprocess.Popen[str]:
    """The reshard module in the background, as module_runner runs it, to be killed or failed over under."""
    args_file = work_dir / "reshard-background-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "ansible_collections.shardinel.redis.plugins.modules.reshard", str(args_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=work_dir,
        env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))


def wait_until_keys_arrive(topology: Any, shard: str, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        client = topology.redis_client(master_address(topology, shard))
        try:
            arrived = client.dbsize()
        finally:
            client.close()
        if arrived >= count:
            return
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"only {arrived} keys reached {shard}"
        time.sleep(0.05)


# refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ({"shards": []}, "shards: give at least one shard name (empty names are not allowed), got []"),
    ({"shards": ["shard1", ""]}, "shards: give at least one shard name (empty names are not allowed), got ['shard1', '']"),
    ({"shards": ["shard1", "shard2", "shard1"]}, "shards: 'shard1' named more than once"),
    ({"shards": ["shard1", "shard9"], "adopt": True},
     "shards: 'shard9' not monitored by any reachable Sentinel (they monitor shard1, shard2, shard3)"),
    ({"rate": -1}, "rate: must be 0 (unthrottled) or a positive number of keys per second, got -1"),
    ({"batch": 0}, "batch: must be between 1 and 100000 keys, got 0"),
    ({"lease": 0}, "lease: must be a positive number of seconds up to 3600, got 0.0"),
    ({"sentinels": ["127.0.0.1"]}, "sentinels: '127.0.0.1' is not a \"host:port\" address: no port"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_bad_input_is_refused_before_any_change(shared_topology: Any, run_module: ModuleRunner, override: dict[str, Any],
                                                message: str, check_mode: bool) -> None:
    before = layouts(shared_topology)
    args = reshard_args(shared_topology, shards=["shard1", "shard2", "shard3"]) | override
    result = run_module("reshard", args, check_mode=check_mode)
    assert result.rc == 1 and result["changed"] is False
    assert result["msg"] == message
    assert layouts(shared_topology) == before
    assert_no_secret(result, shared_topology)


def test_an_undeployed_shard_is_refused_but_may_be_planned(shared_topology: Any, run_module: ModuleRunner) -> None:
    before = layouts(shared_topology)
    args = reshard_args(shared_topology, shards=["shard1", "shard2", "shard3", "shard9"])
    refused = run_module("reshard", args)
    assert refused.rc == 1 and refused["changed"] is False
    assert refused["msg"] == "shards: 'shard9' not monitored by any reachable Sentinel (they monitor shard1, shard2, shard3)"
    plan = run_module("reshard", args, check_mode=True)
    assert plan.rc == 0 and plan["undeployed"] == ["shard9"], plan.output
    assert sum(pair["slots"] for pair in plan["plan"] if pair["to"] == "shard9") > 16384 // 5
    assert layouts(shared_topology) == before


def test_a_shard_without_a_connected_replica_is_refused(fresh_topology: Any, run_module: ModuleRunner) -> None:
    shard2 = fresh_topology.shard("shard2")
    shard2.replica.kill()
    master = fresh_topology.redis_client(shard2.master.address)
    deadline = time.monotonic() + 10
    while master.info("replication")["connected_slaves"] and time.monotonic() < deadline:
        time.sleep(0.05)
    master.close()
    for shards in (["shard1"], ["shard1", "shard2"]):
        result = run_module("reshard", reshard_args(fresh_topology, shards=shards, adopt=shards == ["shard1", "shard2"]))
        assert result.rc == 1 and result["changed"] is False
        assert result["msg"].startswith(f"shards: shard shard2 has no connected replica (master {shard2.master.address_string} "
                                        "reports 0 connected)"), result["msg"]
    assert layouts(fresh_topology) == {"shard1": None, "shard2": None}


def test_another_target_is_refused_while_a_reshard_is_unfinished_and_the_same_target_resumes(
        fresh_topology: Any, run_module: ModuleRunner) -> None:
    expected = write_dataset(fresh_topology, ["shard1", "shard2"], 120)
    unfinished = Layout(1, ["shard1"], previous=["shard1", "shard2"], lease_s=1.0)
    publish(fresh_topology, unfinished)
    before = contents(fresh_topology)

    refused = run_module("reshard", reshard_args(fresh_topology, shards=["shard2"]))
    assert refused.rc == 1 and refused["changed"] is False
    assert refused["msg"] == ("shards: an unfinished reshard (layout version 1) is moving keys from [shard1, shard2] to [shard1]; "
                              "run it again with shards [shard1] to finish it before resharding to [shard2]")
    assert contents(fresh_topology) == before and set(layouts(fresh_topology).values()) == {unfinished}

    on_shard2 = sum(1 for copies in before.values() if copies[0][0] == "shard2")
    assert on_shard2 > 0
    plan = run_module("reshard", reshard_args(fresh_topology, shards=["shard1"]), check_mode=True)
    assert plan.rc == 0 and plan["changed"] is True and plan["resumed"] is True and plan["version"] == 1
    assert plan["plan"] == [{"from": "shard2", "to": "shard1", "slots": 8192, "keys": on_shard2}]
    assert contents(fresh_topology) == before

    resumed = run_module("reshard", reshard_args(fresh_topology, shards=["shard1"]))
    assert resumed.rc == 0, resumed.output
    assert resumed["changed"] is True and resumed["resumed"] is True and resumed["version"] == 2
    assert resumed["keys_moved"] == on_shard2 and resumed["slots_moved"] == 8192
    assert_every_key_on_its_owner(fresh_topology, expected, ["shard1"])
    assert set(layouts(fresh_topology).values()) == {Layout(2, ["shard1"], lease_s=1.0)}


# growing and shrinking ---------------------------------------------------------------------------
def test_check_mode_then_grow_from_2_to_3_shards(fresh_topology: Any, run_module: ModuleRunner) -> None:
    old, new = ["shard1", "shard2"], ["shard1", "shard2", "shard3"]
    expected = write_dataset(fresh_topology, old, 600)
    adopt = reshard_args(fresh_topology, shards=old, adopt=True)
    planned_adoption = run_module("reshard", adopt, check_mode=True)
    assert planned_adoption.rc == 0 and planned_adoption["changed"] is True and planned_adoption["version"] == 0
    assert layouts(fresh_topology) == {"shard1": None, "shard2": None}
    adopted = run_module("reshard", adopt)
    assert adopted.rc == 0 and adopted["changed"] is True and adopted["version"] == 1 and adopted["plan"] == []
    assert run_module("reshard", adopt)["changed"] is False
    fresh_topology.add_shard("shard3")
    # an application wrote this moving key at its new owner during the move: the old copy must not replace it
    busy = next(key for (db, key), (kind, _v, _t) in expected.items()
                if db == 0 and kind == "string" and build_slot_table(new)[key_slot(key)] == "shard3")
    client = fresh_topology.redis_client(master_address(fresh_topology, "shard3"))
    client.set(busy, "written by the application", ex=TTL_S)
    client.close()
    expected[(0, busy)] = ("string", "written by the application", TTL_S)
    before = contents(fresh_topology)

    plan = run_module("reshard", reshard_args(fresh_topology, shards=new), check_mode=True)
    assert plan.rc == 0, plan.output
    assert plan["changed"] is True and plan["version"] == 1 and plan["keys_moved"] == 0 and plan["resumed"] is False
    moving_keys, moving_slots = keys_to_move(expected, old, new), slots_to_move(old, new)
    assert plan["plan"] == [{"from": a, "to": b, "slots": moving_slots[(a, b)], "keys": moving_keys.get((a, b), 0)}
                            for a, b in sorted(moving_slots)]
    assert contents(fresh_topology) == before
    assert set(layouts(fresh_topology).values()) == {Layout(1, old, lease_s=1.0), None}

    result = run_module("reshard", reshard_args(fresh_topology, shards=new, batch=50))
    assert result.rc == 0, result.output
    assert result["changed"] is True and result["version"] == 3 and result["resumed"] is False
    assert result["plan"] == plan["plan"]
    assert result["keys_moved"] == sum(moving_keys.values()) and result["slots_moved"] == sum(moving_slots.values())
    assert result["pairs"] == [{"from": p["from"], "to": p["to"], "slots": p["slots"], "keys_moved": p["keys"]} for p in plan["plan"]]
    assert result["duration_s"] >= result["migration_s"] > 0
    assert_every_key_on_its_owner(fresh_topology, expected, new)
    assert set(layouts(fresh_topology).values()) == {Layout(3, new, lease_s=1.0)}
    assert_no_secret(result, fresh_topology)

    again = run_module("reshard", reshard_args(fresh_topology, shards=list(reversed(new))))
    assert again.rc == 0 and again["changed"] is False and again["version"] == 3
    assert again["plan"] == [] and again["keys_moved"] == 0


def test_shrink_from_3_to_2_shards_then_remove_the_third(topology_factory: Any, run_module: ModuleRunner) -> None:
    topology = topology_factory(3)
    old, new = ["shard1", "shard2", "shard3"], ["shard1", "shard2"]
    expected = write_dataset(topology, old, 300)

    result = run_module("reshard", reshard_args(topology, shards=new))
    assert result.rc == 0, result.output
    assert result["changed"] is True and result["version"] == 2
    assert result["keys_moved"] == sum(keys_to_move(expected, old, new).values())
    assert {p["from"] for p in result["pairs"]} >= {"shard3"} and "shard3" not in {p["to"] for p in result["pairs"]}
    assert_every_key_on_its_owner(topology, expected, new)
    assert set(layouts(topology).values()) == {Layout(2, new, lease_s=1.0)}

    topology.remove_shard("shard3")
    again = run_module("reshard", reshard_args(topology, shards=new))
    assert again.rc == 0 and again["changed"] is False and again["version"] == 2
    assert_every_key_on_its_owner(topology, expected, new)


# interruptions -----------------------------------------------------------------------------------
def test_a_killed_run_loses_nothing_and_a_rerun_finishes(fresh_topology: Any, run_module: ModuleRunner, tmp_path: Path) -> None:
    old, new = ["shard1", "shard2"], ["shard1", "shard2", "shard3"]
    expected = write_dataset(fresh_topology, old, 900)
    assert run_module("reshard", reshard_args(fresh_topology, shards=old, adopt=True))["changed"] is True
    fresh_topology.add_shard("shard3")

    process = start_module(tmp_path, reshard_args(fresh_topology, shards=new, rate=100, batch=10))
    try:
        wait_until_keys_arrive(fresh_topology, "shard3", 40, process)
    finally:
        process.kill()
        process.communicate()
    found = snapshot(fresh_topology)
    assert set(found) == set(expected), "a key was lost when the run was killed"
    assert all(value[:2] == expected[key][:2] for key, copies in found.items() for _shard, value in copies)
    assert {layout.version for layout in layouts(fresh_topology).values() if layout} == {2}

    result = run_module("reshard", reshard_args(fresh_topology, shards=new))
    assert result.rc == 0, result.output
    assert result["changed"] is True and result["resumed"] is True and result["version"] == 3
    assert 0 < result["keys_moved"] < sum(keys_to_move(expected, old, new).values())
    assert_every_key_on_its_owner(fresh_topology, expected, new)
    assert set(layouts(fresh_topology).values()) == {Layout(3, new, lease_s=1.0)}


def test_failovers_of_the_target_and_a_source_during_the_run(fresh_topology: Any, tmp_path: Path) -> None:
    old, new = ["shard1", "shard2"], ["shard1", "shard2", "shard3"]
    expected = write_dataset(fresh_topology, old, 1200)
    fresh_topology.add_shard("shard3")
    publish(fresh_topology, Layout(1, old))

    process = start_module(tmp_path, reshard_args(fresh_topology, shards=new, rate=40, batch=10))
    try:
        wait_until_keys_arrive(fresh_topology, "shard3", 20, process)
        for shard in ("shard3", "shard1"):
            old_master = fresh_topology.force_failover(shard)
            fresh_topology.settle_after_failover(shard, old_master)
        output, _unused = process.communicate(timeout=120)
    finally:
        process.kill()
    result = json.loads(output.strip().splitlines()[-1])
    assert process.returncode == 0, output
    print(f"retried {result['retries']} steps, moved {result['keys_moved']} keys in {result['migration_s']} s")
    assert result["changed"] is True and result["version"] == 3
    assert_every_key_on_its_owner(fresh_topology, expected, new)
    assert set(layouts(fresh_topology).values()) == {Layout(3, new, lease_s=1.0)}

"""shardinel.redis.sentinel_monitors, run through its entry point against real Sentinels: a missing monitor is added
at the shard's current master, a differing setting is set, an unlisted monitor is pruned, a failed-over shard keeps
the master the Sentinels chose, check mode sends nothing but SENTINEL MASTERS, and a second run changes nothing.
"""

from __future__ import annotations

from typing import Any

from module_runner import ModuleRunner  # pylint: disable=import-error
from redis_topology import DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, HOST, QUORUM, RedisTopology, Shard


def layout_entry(shard: Shard) -> dict[str, Any]:
    """A shard as the shardinel role's shardinel_layout fact lists it."""
    return {"name": shard.name, "port": shard.master.port, "master": "host-a", "master_ip": HOST, "replicas": ["host-b"],
            "quorum": QUORUM, "down_after_milliseconds": DOWN_AFTER_MS, "failover_timeout": FAILOVER_TIMEOUT_MS,
            "parallel_syncs": 1}


def monitor_args(topology: RedisTopology, **extra: Any) -> dict[str, Any]:
    """The arguments the redis_sentinel role passes (here for every Sentinel of the topology)."""
    args = {"sentinels": topology.sentinel_addresses, "sentinel_username": topology.sentinel_users["admin"].username,
            "sentinel_password": topology.sentinel_users["admin"].password,
            "shards": [layout_entry(shard) for shard in topology.shards],
            "auth_user": topology.users["sentinel"].username, "auth_pass": topology.users["sentinel"].password}
    if topology.tls is not None:
        args.update(tls=True, tls_ca_file=str(topology.tls.ca))
    return {**args, **extra}


def monitors(topology: RedisTopology) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Per running Sentinel: {shard: (master address, quorum, down-after, failover-timeout, parallel-syncs)}."""
    held = {}
    for sentinel in topology.sentinels:
        if not sentinel.running:
            continue
        client = topology.sentinel_client(sentinel)
        try:
            held[sentinel.address_string] = {
                name: (f"{state['ip']}:{state['port']}", int(state["quorum"]), int(state["down-after-milliseconds"]),
                       int(state["failover-timeout"]), int(state["parallel-syncs"]))
                for name, state in client.sentinel_masters().items()}
        finally:
            client.close()
    return held


def sentinel_command(topology: RedisTopology, index: int, *args: Any) -> Any:
    client = topology.sentinel_client(topology.sentinels[index])
    try:
        return client.execute_command("SENTINEL", *args)
    finally:
        client.close()


def assert_no_secret(topology: RedisTopology, output: str) -> None:
    for user in [*topology.users.values(), *topology.sentinel_users.values()]:
        assert user.password not in output


def test_a_converged_topology_needs_nothing(shared_topology: RedisTopology, run_module: ModuleRunner) -> None:
    for check_mode in (True, False):
        result = run_module("sentinel_monitors", monitor_args(shared_topology), check_mode=check_mode, diff=True)
        assert result.rc == 0 and result["changed"] is False and result["commands"] == {} and result["diff"] == [], result
        assert result["unanswered"] == {}


def test_a_new_shard_is_monitored_at_its_master_with_its_credentials(fresh_topology: RedisTopology,
                                                                     run_module: ModuleRunner) -> None:
    topology = fresh_topology
    shard = topology.add_shard("shard3", monitor=False)
    before = monitors(topology)
    planned = run_module("sentinel_monitors", monitor_args(topology), check_mode=True, diff=True)
    assert monitors(topology) == before, "check mode sent a change"
    expected = [f"SENTINEL MONITOR shard3 {HOST} {shard.master.port} {QUORUM}",
                f"SENTINEL SET shard3 auth-user sentinel auth-pass ******** down-after-milliseconds {DOWN_AFTER_MS}"
                f" failover-timeout {FAILOVER_TIMEOUT_MS} parallel-syncs 1"]
    assert planned["changed"] and planned["commands"] == {address: expected for address in topology.sentinel_addresses}
    diff = planned["diff"][0]
    assert "shard3" not in diff["before"]
    assert (f"shard3 {HOST}:{shard.master.port} quorum {QUORUM} down-after-milliseconds {DOWN_AFTER_MS} "
            f"failover-timeout {FAILOVER_TIMEOUT_MS} parallel-syncs 1\n") in diff["after"]
    assert_no_secret(topology, planned.output)

    applied = run_module("sentinel_monitors", monitor_args(topology))
    assert applied["changed"] and applied["commands"] == planned["commands"]
    assert_no_secret(topology, applied.output)
    wanted = (f"{HOST}:{shard.master.port}", QUORUM, DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, 1)
    assert all(held["shard3"] == wanted for held in monitors(topology).values())
    # With auth-user/auth-pass the Sentinels log in to the new shard: they find its replica and each other.
    topology.wait_until_sentinels_ready()
    assert run_module("sentinel_monitors", monitor_args(topology))["changed"] is False


def test_a_monitor_missing_on_one_sentinel_starts_at_the_current_master(fresh_topology: RedisTopology,
                                                                        run_module: ModuleRunner) -> None:
    topology = fresh_topology
    old = topology.force_failover("shard1")
    new = topology.settle_after_failover("shard1", old)
    sentinel_command(topology, 2, "REMOVE", "shard1")
    current = {"shard1": f"{new[0]}:{new[1]}"}
    result = run_module("sentinel_monitors", monitor_args(topology, current_masters=current))
    assert list(result["commands"]) == [topology.sentinel_addresses[2]]
    assert result["commands"][topology.sentinel_addresses[2]][0] == f"SENTINEL MONITOR shard1 {new[0]} {new[1]} {QUORUM}"
    assert monitors(topology)[topology.sentinel_addresses[2]]["shard1"][0] == f"{new[0]}:{new[1]}"


def test_a_failed_over_shard_keeps_its_current_master(fresh_topology: RedisTopology, run_module: ModuleRunner) -> None:
    topology = fresh_topology
    old = topology.force_failover("shard1")
    new = topology.settle_after_failover("shard1", old)
    topology.wait_until_sentinels_ready()
    # The inventory still places the master where it started; the Sentinels know better and are left alone.
    result = run_module("sentinel_monitors", monitor_args(topology, current_masters={"shard1": f"{old[0]}:{old[1]}"}))
    assert result["changed"] is False and result["commands"] == {}
    args = monitor_args(topology)
    args["shards"][0]["failover_timeout"] = FAILOVER_TIMEOUT_MS + 1000
    result = run_module("sentinel_monitors", args)
    assert result["commands"] == {address: [f"SENTINEL SET shard1 failover-timeout {FAILOVER_TIMEOUT_MS + 1000}"]
                                  for address in topology.sentinel_addresses}
    assert {held["shard1"][0] for held in monitors(topology).values()} == {f"{new[0]}:{new[1]}"}


def test_a_setting_that_differs_is_set_on_that_sentinel_only(fresh_topology: RedisTopology,
                                                             run_module: ModuleRunner) -> None:
    topology = fresh_topology
    sentinel_command(topology, 1, "SET", "shard2", "down-after-milliseconds", 3000, "parallel-syncs", 2)
    address = topology.sentinel_addresses[1]
    planned = run_module("sentinel_monitors", monitor_args(topology), check_mode=True, diff=True)
    assert planned["commands"] == {address: [f"SENTINEL SET shard2 down-after-milliseconds {DOWN_AFTER_MS} parallel-syncs 1"]}
    assert planned["diff"] == [{
        "before_header": f"{address} monitors (held)", "after_header": f"{address} monitors (wanted)",
        "before": "".join(f"{name} {line}\n" for name, line in held_lines(topology, 1, {"shard2": (3000, 2)})),
        "after": "".join(f"{name} {line}\n" for name, line in held_lines(topology, 1, {}))}]
    assert monitors(topology)[address]["shard2"][2:] == (3000, FAILOVER_TIMEOUT_MS, 2)
    assert run_module("sentinel_monitors", monitor_args(topology))["changed"] is True
    assert monitors(topology)[address]["shard2"][2:] == (DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, 1)
    # A quorum of the layout that differs is set on every Sentinel.
    args = monitor_args(topology)
    args["shards"][0]["quorum"] = 3
    result = run_module("sentinel_monitors", args)
    assert result["commands"] == {a: ["SENTINEL SET shard1 quorum 3"] for a in topology.sentinel_addresses}
    assert all(held["shard1"][1] == 3 for held in monitors(topology).values())
    assert run_module("sentinel_monitors", args)["changed"] is False


def held_lines(topology: RedisTopology, index: int, changed: dict[str, tuple[int, int]]) -> list[tuple[str, str]]:
    lines = []
    for shard in topology.shards:
        down_after, syncs = changed.get(shard.name, (DOWN_AFTER_MS, 1))
        lines.append((shard.name, f"{HOST}:{shard.master.port} quorum {QUORUM} down-after-milliseconds {down_after} "
                                  f"failover-timeout {FAILOVER_TIMEOUT_MS} parallel-syncs {syncs}"))
    return lines


def test_prune_removes_the_monitors_of_shards_not_listed(fresh_topology: RedisTopology, run_module: ModuleRunner) -> None:
    topology = fresh_topology
    topology.add_shard("shard3")
    args = monitor_args(topology, shards=[layout_entry(shard) for shard in topology.shards if shard.name != "shard3"])
    assert run_module("sentinel_monitors", args)["changed"] is False
    planned = run_module("sentinel_monitors", {**args, "prune": True}, check_mode=True)
    assert planned["commands"] == {address: ["SENTINEL REMOVE shard3"] for address in topology.sentinel_addresses}
    assert all("shard3" in held for held in monitors(topology).values())
    assert run_module("sentinel_monitors", {**args, "prune": True})["changed"] is True
    assert all(sorted(held) == ["shard1", "shard2"] for held in monitors(topology).values())
    assert run_module("sentinel_monitors", {**args, "prune": True})["changed"] is False


def test_remove_takes_out_the_named_shards_only(fresh_topology: RedisTopology, run_module: ModuleRunner) -> None:
    topology = fresh_topology
    topology.add_shard("shard3")
    sentinel_command(topology, 1, "REMOVE", "shard3")
    args = {key: value for key, value in monitor_args(topology).items() if key not in ("shards", "auth_user", "auth_pass")}
    planned = run_module("sentinel_monitors", {**args, "remove": ["shard3", "shard9"]}, check_mode=True, diff=True)
    removing = [topology.sentinel_addresses[0], topology.sentinel_addresses[2]]
    assert planned["commands"] == {address: ["SENTINEL REMOVE shard3"] for address in removing}
    assert "shard3" in planned["diff"][0]["before"] and "shard3" not in planned["diff"][0]["after"]
    assert "shard1" in planned["diff"][0]["after"]
    assert all("shard3" in monitors(topology)[address] for address in removing)
    assert run_module("sentinel_monitors", {**args, "remove": ["shard3", "shard9"]})["changed"] is True
    assert all(sorted(held) == ["shard1", "shard2"] for held in monitors(topology).values())
    assert run_module("sentinel_monitors", {**args, "remove": ["shard3"]})["changed"] is False
    result = run_module("sentinel_monitors", {**args, "prune": True})
    assert result.get("failed") and result["msg"] == "prune needs shards: without them it would remove every monitor"


def test_a_sentinel_that_does_not_answer_fails_the_run_before_any_change(fresh_topology: RedisTopology,
                                                                         run_module: ModuleRunner) -> None:
    topology = fresh_topology
    sentinel_command(topology, 0, "REMOVE", "shard2")
    topology.sentinels[2].kill()
    result = run_module("sentinel_monitors", monitor_args(topology))
    assert result.get("failed") and topology.sentinel_addresses[2] in result["msg"], result
    assert "did not answer SENTINEL MASTERS" in result["msg"]
    assert "shard2" not in monitors(topology)[topology.sentinel_addresses[0]]
    # Check mode (a fresh host, where the real run starts the Sentinels first) lists it and plans the others.
    planned = run_module("sentinel_monitors", monitor_args(topology), check_mode=True)
    assert planned.rc == 0 and list(planned["unanswered"]) == [topology.sentinel_addresses[2]], planned
    assert planned["commands"] == {topology.sentinel_addresses[0]: [
        f"SENTINEL MONITOR shard2 {HOST} {topology.shards[1].master.port} {QUORUM}",
        f"SENTINEL SET shard2 auth-user sentinel auth-pass ******** down-after-milliseconds {DOWN_AFTER_MS}"
        f" failover-timeout {FAILOVER_TIMEOUT_MS} parallel-syncs 1"]}
    assert "did not answer, so what it needs is unknown" in str(planned["warnings"])


def test_a_refused_login_fails_without_the_password(shared_topology: RedisTopology, run_module: ModuleRunner) -> None:
    result = run_module("sentinel_monitors", monitor_args(shared_topology, sentinel_password="wrong-sentinel-pass-5e"))
    assert result.get("failed") and "refused user sentinel-admin" in result["msg"]
    assert "wrong-sentinel-pass-5e" not in result.output


def test_wrong_options_are_refused_naming_them(shared_topology: RedisTopology, run_module: ModuleRunner) -> None:
    result = run_module("sentinel_monitors", monitor_args(shared_topology, current_masters={"shard1": "nohost"}))
    assert result.get("failed") and result["msg"].startswith('current_masters[shard1]: \'nohost\' is not a "host:port"')
    args = monitor_args(shared_topology)
    args["shards"][1]["quorum"] = 0
    result = run_module("sentinel_monitors", args)
    assert result.get("failed") and result["msg"] == "shards[1] (shard2): quorum must be positive, got 0"
    result = run_module("sentinel_monitors", monitor_args(shared_topology, auth_pass=None))
    assert result.get("failed") and result["msg"] == "auth_user is set but auth_pass is not"


def test_tls(tls_topology: RedisTopology, run_module: ModuleRunner) -> None:
    assert run_module("sentinel_monitors", monitor_args(tls_topology))["changed"] is False
    args = monitor_args(tls_topology)
    args["shards"][0]["parallel_syncs"] = 2
    planned = run_module("sentinel_monitors", args, check_mode=True)
    assert planned["commands"] == {a: ["SENTINEL SET shard1 parallel-syncs 2"] for a in tls_topology.sentinel_addresses}
    assert all(held["shard1"][4] == 1 for held in monitors(tls_topology).values())

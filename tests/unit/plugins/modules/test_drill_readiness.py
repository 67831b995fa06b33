"""The readiness rules that need no server: replica problems from INFO replication fields, TILT wording."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.drill_readiness import replica_problems
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_tilt import describe_tilt


def test_replicas_that_are_resyncing_or_behind_are_problems() -> None:
    info = {"role": "master", "connected_slaves": 3, "master_repl_offset": 5_000_000,
            "slave0": {"ip": "10.0.0.2", "port": 6379, "state": "online", "offset": 5_000_000, "lag": 0},
            "slave1": {"ip": "10.0.0.3", "port": 6379, "state": "wait_bgsave", "offset": 0, "lag": 0},
            "slave2": {"ip": "10.0.0.4", "port": 6379, "state": "online", "offset": 2_000_000, "lag": 0}}
    assert replica_problems(info, 1_048_576) == [
        "replica 10.0.0.3:6379 is connected but resyncing (state wait_bgsave)",
        "replica 10.0.0.4:6379 is connected but 3000000 bytes behind the master (max_replica_lag_bytes 1048576)",
    ]
    assert replica_problems(info, 3_000_000) == ["replica 10.0.0.3:6379 is connected but resyncing (state wait_bgsave)"]


def test_a_master_without_replicas_is_a_problem() -> None:
    assert replica_problems({"role": "master", "connected_slaves": 0, "master_repl_offset": 10}, 0) == ["no connected replica"]


def test_tilt_is_described_with_the_time_it_ends() -> None:
    state = {"tilt": True, "tilt_since_seconds": 4, "tilt_remaining_seconds": 26}
    assert describe_tilt("10.0.0.1:26379", state, now=0) == (
        "Sentinel 10.0.0.1:26379 is in TILT mode for 4 s, until about 00:00:26 UTC unless it is triggered again")

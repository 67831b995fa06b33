"""The one reading of Sentinel answers: state parsing and the highest config epoch rule."""

from __future__ import annotations

from shardinel.sentinel_answers import current_masters, is_down, newest, parse_state, state_address


def test_flat_and_map_states_read_the_same() -> None:
    flat = ["name", "shard1", "ip", "10.0.0.1", "port", "6379", "flags", "master,s_down", "config-epoch", "4"]
    mapped = dict(zip(flat[::2], flat[1::2]))
    assert parse_state(flat) == parse_state(mapped) == {
        "name": "shard1", "ip": "10.0.0.1", "port": 6379, "flags": ["master", "s_down"], "config-epoch": 4}
    assert state_address(parse_state(flat)) == "10.0.0.1:6379"
    assert is_down(parse_state(flat)) and is_down({"flags": "master,o_down"}) and not is_down({"flags": "master"})


def test_the_highest_config_epoch_wins_and_the_first_of_equals() -> None:
    states = {"s1": {"ip": "a", "config-epoch": "3"}, "s2": {"ip": "b", "config-epoch": 7}, "s3": {"ip": "c", "config-epoch": 7}}
    assert newest(states) == ("s2", states["s2"])
    assert newest({}) is None
    assert newest({"s1": {"ip": "a"}, "s2": {"ip": "b", "config-epoch": "garbage"}})[0] == "s1"


def test_current_masters_over_every_sentinel() -> None:
    views = {
        "s1": [{"name": "shard1", "ip": "a", "port": 1, "config-epoch": 1}, {"name": "shard2", "ip": "b", "port": 2, "config-epoch": 0}],
        "s2": [{"name": "shard1", "ip": "c", "port": 1, "config-epoch": 2}],
    }
    masters = current_masters(views)
    assert {name: state_address(state) for name, state in masters.items()} == {"shard1": "c:1", "shard2": "b:2"}

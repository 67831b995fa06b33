"""Property tests for key -> slot -> shard mapping (no servers needed)."""

from binascii import crc_hqx

from hypothesis import given, settings, strategies as st

from shardinel import SLOT_COUNT, build_slot_table, key_slot
from shardinel.slots import key_slots

names = st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=12), min_size=1, max_size=6, unique=True)
keys = st.one_of(st.binary(max_size=40), st.text(max_size=40))


def test_known_cluster_slots():
    assert key_slot("foo") == 12182
    assert key_slot("123456789") == crc_hqx(b"123456789", 0) % SLOT_COUNT == 0x31C3 % SLOT_COUNT
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers") == key_slot("user1000")
    assert key_slot("foo{}{bar}") == key_slot("foo{}{bar}") != key_slot("bar")


@given(keys)
def test_slot_in_range_and_str_equals_bytes(key):
    slot = key_slot(key)
    assert 0 <= slot < SLOT_COUNT
    if isinstance(key, str):
        assert slot == key_slot(key.encode("utf-8"))


@given(st.text(min_size=1, max_size=10).filter(lambda t: "}" not in t), keys, keys)
def test_hash_tag_groups_keys(tag, prefix, suffix):
    prefix = prefix if isinstance(prefix, str) else prefix.decode("latin-1")
    suffix = suffix if isinstance(suffix, str) else suffix.decode("latin-1")
    if "{" in prefix:
        return
    assert key_slot(f"{prefix}{{{tag}}}{suffix}") == key_slot(tag)


@settings(max_examples=15, deadline=None)
@given(names, st.randoms())
def test_table_depends_only_on_the_set_of_names(shard_names, rnd):
    shuffled = list(shard_names)
    rnd.shuffle(shuffled)
    table = build_slot_table(shard_names)
    assert table == build_slot_table(shuffled + shuffled[:1])
    assert len(table) == SLOT_COUNT and set(table) == set(shard_names)
    counts = [table.count(n) for n in set(shard_names)]
    assert max(counts) - min(counts) <= len(shard_names)


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=1, max_value=7))
def test_adding_a_shard_moves_about_one_share(count):
    before = build_slot_table([f"s{i}" for i in range(count)])
    after = build_slot_table([f"s{i}" for i in range(count + 1)])
    moved = sum(a != b for a, b in zip(before, after)) / SLOT_COUNT
    assert moved <= 1.1 / (count + 1)
    assert all(b == f"s{count}" for a, b in zip(before, after) if a != b) or moved <= 1.1 / (count + 1)


@given(st.lists(st.one_of(keys, st.integers(), st.floats(allow_nan=False), st.text(max_size=8).map(lambda t: f"a{{{t}}}b")),
                max_size=30))
def test_batch_slots_equal_one_by_one(many):
    assert key_slots(many) == [key_slot(key) for key in many]

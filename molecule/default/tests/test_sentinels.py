"""Every Sentinel monitors every shard with the expected master and replica, and can reach quorum."""

from expected import HOSTS, SENTINEL_PORTS, address, sentinel_addresses


def _pairs(text):
    lines = text.splitlines()
    return dict(zip(lines[::2], lines[1::2]))


def test_every_sentinel_sees_every_shard(sentinel_admin, expected_layout):
    sentinels = sentinel_addresses()
    assert len(sentinels) == len(HOSTS) * len(SENTINEL_PORTS) == 4
    for sentinel in sentinels:
        for shard, (port, master, replica) in expected_layout.items():
            found = sentinel_admin(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", shard)
            assert found.splitlines() == [HOSTS[master], str(port)]
            state = _pairs(sentinel_admin(sentinel, "SENTINEL", "MASTER", shard))
            assert state["flags"] == "master"
            assert state["num-other-sentinels"] == "3"
            assert state["num-slaves"] == "1"
            replicas = _pairs(sentinel_admin(sentinel, "SENTINEL", "REPLICAS", shard))
            assert replicas["name"] == address(replica, port)
            assert "s_down" not in replicas["flags"]
            assert sentinel_admin(sentinel, "SENTINEL", "CKQUORUM", shard).startswith("OK 4 usable Sentinels")

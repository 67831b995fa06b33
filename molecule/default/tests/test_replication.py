"""Each shard's ROLE matches the expected layout, and its replication link is up and advancing."""

import time

from expected import HOSTS, address


def _info(text):
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def test_roles_match_layout(admin, expected_layout):
    for port, master, replica in expected_layout.values():
        assert admin(address(master, port), "ROLE").splitlines()[0] == "master"
        role = admin(address(replica, port), "ROLE").splitlines()
        assert role[:3] == ["slave", HOSTS[master], str(port)]


def test_replication_link_up_and_offset_advancing(admin, expected_layout):
    for shard, (port, master, replica) in expected_layout.items():
        before = _info(admin(address(replica, port), "INFO", "replication"))
        assert before["master_link_status"] == "up"
        assert admin(address(master, port), "SET", f"molecule:{shard}:probe", str(time.time())) == "OK"
        deadline = time.monotonic() + 10
        while True:
            after = _info(admin(address(replica, port), "INFO", "replication"))
            if int(after["slave_repl_offset"]) > int(before["slave_repl_offset"]):
                break
            assert time.monotonic() < deadline, f"{shard}: replica offset did not advance"
            time.sleep(0.2)
        assert after["master_link_status"] == "up"

"""A shard added to shardinel_shards and removed again, each a run of the converge playbook: while the removed shard
holds a key the run stops before any change, naming it; once it is empty its monitors leave every Sentinel, its
instances stop and lose their units and files, and its data directory stays. Only where the scenario's group_vars
set shardinel_test_rotation (the same scenario runs both tests).
"""

import pytest

from expected import BOOTSTRAP, CONFIG_DIR, DATA_DIR, GROUP_VARS, HOSTS, sentinel_addresses
from test_rotation import _converge

pytestmark = pytest.mark.skipif(not GROUP_VARS.get("shardinel_test_rotation"), reason="only where shardinel_test_rotation is set")

EXTRA = "shard3"


def test_a_removed_shard_is_refused_while_it_holds_keys_then_removed(hosts, admin, sentinel_admin, tmp_path):
    shards = [{"name": name} for name in BOOTSTRAP]
    _converge(tmp_path, "add-shard3", {"shardinel_shards": shards + [{"name": EXTRA}]})
    sentinel = sentinel_addresses()[0]
    ip, port = sentinel_admin(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", EXTRA).split()
    admin_master = f"{ip}:{port}"
    assert admin(admin_master, "SET", "kept-key", "1") == "OK"

    refused = _converge(tmp_path, "remove-refused", {"shardinel_shards": shards}, expect_failure=True)
    assert f"Shard {EXTRA} is no longer in shardinel_shards but its instance on" in refused
    assert "holds 1 key(s)" in refused and "redis_server_remove_nonempty_shards" in refused
    assert admin(admin_master, "GET", "kept-key") == "1"

    assert admin(admin_master, "DEL", "kept-key") == "1"
    _converge(tmp_path, "remove", {"shardinel_shards": shards})
    for address in sentinel_addresses():
        assert EXTRA not in sentinel_admin(address, "SENTINEL", "MASTERS")
    for name in HOSTS:
        host = hosts[name]
        assert not host.service(f"shardinel-redis@{EXTRA}").is_running
        assert not host.file(f"/etc/systemd/system/multi-user.target.wants/shardinel-redis@{EXTRA}.service").exists
        for suffix in ("conf", "static.conf", "auth.conf", "acl"):
            assert not host.file(f"{CONFIG_DIR}/{EXTRA}.{suffix}").exists
        assert host.file(f"{DATA_DIR}/{EXTRA}").is_directory
        assert f"shardinel-redis@{EXTRA}" not in host.file("/etc/systemd/system/shardinel-redis.target").content_string

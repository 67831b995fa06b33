"""Backups and restore on the scenario's hosts (issue 21), through playbooks/backup.yml and playbooks/restore.yml:

- a known data set (strings, hashes, lists, sets, sorted sets, streams, keys with TTLs, in databases 0 and 1, over
  every shard) is backed up (each shard from its in-sync replica, the set fetched to the controller), every master is
  FLUSHALLed as the admin, and the restore brings back every key, value, type and expiry time, read by clients built
  before it, with no restart, no failover and the ACL users unchanged; it also publishes again the layout the FLUSHALL
  took (the version the clients know);
- one shard is restored alone and the other is left as it was;
- a set whose layout does not match, and a corrupted set, are refused with their errors before any change;
- the backup timer (redis_server_backup_enabled in the scenario's group_vars) runs a backup on each host and writes the
  metrics file the backup alerts read.

Only where the scenario's group_vars set shardinel_test_backups; not over TLS (the clients here connect from the
controller in plaintext).
"""

import json
import shlex
import sys

import pytest

from expected import BOOTSTRAP, GROUP_VARS, TLS, address, sentinel_addresses
from playbook_run import REPO, run_playbook

pytestmark = pytest.mark.skipif(not GROUP_VARS.get("shardinel_test_backups") or TLS,
                                reason="only where shardinel_test_backups is set, without TLS")

BACKUP_DIR = GROUP_VARS.get("redis_server_backup_directory", "/var/backups/shardinel-redis")
METRICS_FILE = GROUP_VARS.get("redis_server_backup_metrics_file", "/var/lib/prometheus/node-exporter/shardinel-redis-backup.prom")
TEST_PATHS = [str(REPO / "plugins" / "module_utils"), str(REPO / "tests" / "unit"), str(REPO / "tests" / "unit" / "plugins" / "modules")]
DATABASES = (0, 1)


def _redis(address_text, password, db=0):
    import redis

    host, port = address_text.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), username="admin", password=password, db=db, socket_timeout=10)


def _masters(secrets):
    import redis

    host, port = sentinel_addresses()[0].rsplit(":", 1)
    with redis.Redis(host=host, port=int(port), username="sentinel-client", decode_responses=True,
                     password=secrets["shardinel_sentinel_client_password"]) as sentinel:
        return {shard: "%s:%s" % tuple(sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", shard))
                for shard in sorted(BOOTSTRAP)}


def _members(secrets, expected_layout):
    """{shard: [master address, replica address]} as the Sentinels name the master now."""
    masters = _masters(secrets)
    members = {}
    for shard, (port, first, second) in expected_layout.items():
        others = [address(host, port) for host in (first, second) if address(host, port) != masters[shard]]
        members[shard] = [masters[shard]] + others
    return members


def _holdings(members, password):
    """{instance: {(db, key): (type and value, absolute expiry)}} of every instance (backup_data.value_of)."""
    from backup_data import value_of

    found = {}
    for addresses in members.values():
        for instance in addresses:
            held = {}
            for db in range(16):
                with _redis(instance, password, db) as connection:
                    for key in connection.scan_iter(count=1000):
                        held[(db, key)] = (value_of(connection, key), connection.execute_command("PEXPIRETIME", key))
            found[instance] = held
    return found


def _state(members, password):
    """Per instance its run id and ACL users; per shard its master and config epoch as the Sentinels hold them."""
    state = {}
    for addresses in members.values():
        for instance in addresses:
            with _redis(instance, password) as connection:
                state[instance] = (connection.info("server")["run_id"], connection.acl_list())
    return state


def _sentinel_state(sentinel_admin):
    found = {}
    for sentinel in sentinel_addresses():
        for shard in sorted(BOOTSTRAP):
            fields = sentinel_admin(sentinel, "SENTINEL", "MASTER", shard).splitlines()
            pairs = dict(zip(fields[0::2], fields[1::2]))
            found[(sentinel, shard)] = (pairs["ip"], pairs["port"], pairs["config-epoch"])
    return found


def _printed(stdout, task):
    report = json.loads(stdout)
    return [line for play in report["plays"] for entry in play["tasks"] if entry["task"]["name"].endswith(task)
            for result in entry["hosts"].values() for line in result.get("msg", [])]


def _table(lines):
    return {row[0]: row for row in ([cell.strip() for cell in line.split(" | ")] for line in lines[2:])}


@pytest.fixture(scope="module")
def clients(secrets):
    """Clients built before anything else: one per database, kept open through the backup and the restores."""
    sys.path[:0] = [path for path in TEST_PATHS if path not in sys.path]
    from shardinel import ShardedSentinelClient

    built = {db: ShardedSentinelClient(sentinel_addresses(), username="app", password=secrets["shardinel_app_password"],
                                       sentinel_username="sentinel-client", db=db,
                                       sentinel_password=secrets["shardinel_sentinel_client_password"], socket_timeout=5)
             for db in DATABASES}
    yield built
    for client in built.values():
        client.close()


def test_a_flushed_topology_comes_back_from_its_backup(secrets, clients, expected_layout, sentinel_admin, tmp_path, capsys):
    from backup_data import read_back, write_data_set

    admin = secrets["shardinel_admin_password"]
    expected = {db: write_data_set(client, db) for db, client in clients.items()}
    members = _members(secrets, expected_layout)
    for shard, addresses in members.items():
        with _redis(addresses[0], admin) as master:
            assert master.execute_command("WAIT", 1, 10000) == 1, shard
    before, state, sentinels = _holdings(members, admin), _state(members, admin), _sentinel_state(sentinel_admin)
    with _redis(members["shard1"][0], admin, 15) as layout_db:
        assert layout_db.get("shardinel:layout"), "the converge published a layout"

    fetched = tmp_path / "fetched"
    backup = run_playbook("shardinel.redis.backup", "-e", "shardinel_backup_set=proof", "-e", "shardinel_backup_fetch=true",
                          "-e", f"shardinel_backup_fetch_dir={fetched}")
    assert backup.returncode == 0, backup.stdout[-4000:] + backup.stderr[-2000:]
    backed_up = _table(_printed(backup.stdout, "Print what each host backed up")[1:])
    for shard, (port, master_host, replica_host) in expected_layout.items():
        # each shard from its replica, on the replica's host, with every key of its databases
        assert backed_up[shard][1:4] == [replica_host, address(replica_host, port), "replica"], backed_up[shard]
        assert int(backed_up[shard][4]) == len(before[members[shard][0]]), (shard, backed_up[shard])
        metadata = json.loads((fetched / "proof" / replica_host / f"{shard}.json").read_text())
        assert metadata["layout"]["shards"] == sorted(BOOTSTRAP) and metadata["engine"] == GROUP_VARS.get("shardinel_engine", "redis")
        assert not any(value in (fetched / "proof" / replica_host / f"{shard}.json").read_text()
                       for name, value in secrets.items() if name.endswith("password"))

    for addresses in members.values():
        with _redis(addresses[0], admin) as master:
            master.flushall()
            master.execute_command("WAIT", 1, 10000)
    assert all(client.get("s:%d:1" % db) is None for db, client in clients.items())

    restore = run_playbook("shardinel.redis.restore", "-e", "shardinel_restore_set=proof")
    assert restore.returncode == 0, restore.stdout[-4000:] + restore.stderr[-2000:]
    lines = _printed(restore.stdout, "Print the keys restored and the write pause of each shard")
    with capsys.disabled():
        print("\n" + "\n".join(lines), flush=True)
    restored = _table(lines)
    for shard, addresses in members.items():
        app_keys = len([key for key in before[addresses[0]] if key[0] != 15])
        assert int(restored[shard][4]) == app_keys, restored[shard]
        assert float(restored[shard][5]) < 0.05, restored[shard]

    for db, client in clients.items():
        for key, value in expected[db].items():
            assert read_back(client, key) == value, (db, key)
        assert 0 < client.ttl("t:%d:3" % db) <= 3600
    after = _holdings(members, admin)
    for instance, held in before.items():
        # database 15 too: the layout the FLUSHALL took is published again, the same version
        assert after[instance] == held, instance
    assert _state(members, admin) == state and _sentinel_state(sentinel_admin) == sentinels

    # A single shard: both are damaged, shard2 alone is restored.
    for shard, addresses in members.items():
        with _redis(addresses[0], admin) as master:
            master.set("s:0:1", "damaged")
            master.delete("h:0:2", "l:0:3")
            master.execute_command("WAIT", 1, 10000)
    damaged = _holdings(members, admin)
    single = run_playbook("shardinel.redis.restore", "-e", "shardinel_restore_set=proof", "-e", '{"shardinel_restore_shards": ["shard2"]}')
    assert single.returncode == 0, single.stdout[-4000:] + single.stderr[-2000:]
    assert sorted(_table(_printed(single.stdout, "Print the keys restored and the write pause of each shard"))) == ["shard2"]
    now = _holdings(members, admin)
    for instance in members["shard2"]:
        assert now[instance] == after[instance], instance
    for instance in members["shard1"]:
        assert now[instance] == damaged[instance], instance
    repaired = run_playbook("shardinel.redis.restore", "-e", "shardinel_restore_set=proof", "-e", '{"shardinel_restore_shards": ["shard1"]}')
    assert repaired.returncode == 0, repaired.stdout[-4000:]
    assert _holdings(members, admin) == before


def _copy_set(hosts, host_name, name, edit):
    """A copy of set "proof" on a host under another name, changed by ``edit`` (Python run on the host)."""
    script = (f"import json, pathlib, shutil; d = pathlib.Path({BACKUP_DIR!r}); shutil.copytree(d / 'proof', d / {name!r}); "
              f"s = d / {name!r}; m = json.loads((s / 'set.json').read_text()); m['set'] = {name!r}; "
              f"(s / 'set.json').write_text(json.dumps(m)); "
              f"[(s / (x + '.json')).write_text(json.dumps(dict(json.loads((s / (x + '.json')).read_text()), set={name!r}))) "
              f"for x in m['shards']]; {edit}")
    hosts[host_name].check_output("python3 -c " + shlex.quote(script))


def test_a_mismatched_or_corrupted_set_is_refused_before_any_change(secrets, hosts, expected_layout):
    admin = secrets["shardinel_admin_password"]
    replica_host = expected_layout["shard1"][2]
    members = _members(secrets, expected_layout)
    before = _holdings(members, admin)
    _copy_set(hosts, replica_host, "mismatch", "p = s / 'shard1.json'; x = json.loads(p.read_text()); "
              "x['layout'] = {'version': 9, 'shards': ['shard1', 'shard2', 'shard3']}; p.write_text(json.dumps(x))")
    _copy_set(hosts, replica_host, "corrupt", "p = s / 'shard1.rdb'; b = bytearray(p.read_bytes()); "
              "b[len(b) // 2] ^= 255; p.write_bytes(bytes(b))")
    for name, message in (("mismatch", "shard1: backup set mismatch was taken with the layout shard1, shard2, shard3"),
                          ("corrupt", "shard1: %s/corrupt/shard1.rdb is corrupt" % BACKUP_DIR)):
        refused = run_playbook("shardinel.redis.restore", "-e", f"shardinel_restore_set={name}")
        assert refused.returncode != 0
        assert message in refused.stdout, refused.stdout[-4000:]
        assert "Nothing was restored" in refused.stdout
    assert _holdings(members, admin) == before
    hosts[replica_host].check_output(f"rm -rf {BACKUP_DIR}/mismatch {BACKUP_DIR}/corrupt")


def test_the_backup_timer_backs_up_and_writes_the_metrics(hosts, expected_layout):
    if not GROUP_VARS.get("redis_server_backup_enabled"):
        pytest.skip("the scenario does not turn the backup timer on (redis_server_backup_enabled)")
    for host_name, host in hosts.items():
        timer = host.service("shardinel-redis-backup.timer")
        assert timer.is_running and timer.is_enabled, host_name
        sets_before = set(host.check_output(f"ls {BACKUP_DIR}").split())
        started = host.run("systemctl start shardinel-redis-backup.service")
        assert started.rc == 0, host.check_output("journalctl -u shardinel-redis-backup.service -n 20 --no-pager")
        new = sorted(set(host.check_output(f"ls {BACKUP_DIR}").split()) - sets_before)
        expected = sorted(shard for shard, spec in expected_layout.items() if spec[2] == host_name)
        metrics = host.check_output(f"cat {METRICS_FILE}")
        assert "shardinel_backup_last_run_timestamp_seconds " in metrics, (host_name, metrics)
        if not expected:
            # After the side effect's failover a host may hold every master and no replica: its run backs up
            # nothing, makes no set, and still records that it ran.
            assert new == [], (host_name, new)
            assert "shardinel_backup_last_run_success{" not in metrics, (host_name, metrics)
            continue
        assert len(new) == 1, (host_name, new)
        held = json.loads(host.check_output(f"cat {BACKUP_DIR}/{new[0]}/set.json"))["shards"]
        assert held == expected, (host_name, held)
        for shard in held:
            assert f'shardinel_backup_last_run_success{{shard="{shard}"}} 1' in metrics
            assert f'shardinel_backup_last_success_timestamp_seconds{{shard="{shard}"}}' in metrics

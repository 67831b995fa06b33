"""Preflight of the shardinel role and of the redis_server role's settings: every bad topology or setting fails
with a message naming the variable, before any change; risky settings pass with a warning that explains them.

Each case runs ansible-playbook on a generated inventory of local-connection hosts; the
cases run in parallel because each run spends most of its time starting Ansible.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PLAYBOOK = HERE / "preflight.yml"
PASSWORDS = {
    "shardinel_admin_password": "t-admin-5a1c",
    "shardinel_replication_password": "t-replication-0f3b",
    "shardinel_sentinel_password": "t-sentinel-91de",
    "shardinel_app_password": "t-app-7c44",
    "shardinel_sentinel_admin_password": "t-sentinel-admin-2b80",
    "shardinel_sentinel_client_password": "t-sentinel-client-e6a9",
}


def inventory(servers=("server1", "server2"), witnesses=(), group_vars=None, host_vars=None):
    hosts = {name: {"shardinel_announce_ip": f"127.0.{index + 1}.1"} for index, name in enumerate(list(servers) + list(witnesses))}
    for name, values in (host_vars or {}).items():
        hosts.setdefault(name, {}).update(values)
    return {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **PASSWORDS, **(group_vars or {})},
            "children": {
                "redis_servers": {"hosts": {name: hosts[name] for name in servers}},
                "redis_sentinels": {"hosts": {name: hosts[name] for name in list(servers) + list(witnesses)}},
            },
        }
    }


def shards(*specs):
    return {"shardinel_shards": list(specs)}


FAILING = {
    "one_data_host": (inventory(servers=("server1",)), r"Inventory group redis_servers must hold at least two data hosts"),
    "master_and_replica_same_host": (
        inventory(group_vars=shards({"name": "a", "master": "server1", "replicas": ["server1"]})),
        r"shardinel_shards\[a\] places its master and a replica on the same host server1",
    ),
    "duplicate_shard_names": (inventory(group_vars=shards({"name": "a"}, {"name": "b"}, {"name": "a"})), r"shardinel_shards: duplicate shard names: a\."),
    "port_collision_between_shards": (
        inventory(group_vars=shards({"name": "a", "port": 7000}, {"name": "b", "port": 7000})),
        r"port collision at 127\.0\.\d\.1:7000 .*shard a from shardinel_shards\[a\]\.port and shard b from shardinel_shards\[b\]\.port",
    ),
    "port_collision_with_sentinel": (
        inventory(group_vars=shards({"name": "a", "port": 26380})),
        r"port collision at 127\.0\.\d\.1:26380 .*shardinel_shards\[a\]\.port and Sentinel from shardinel_sentinel_port",
    ),
    "missing_password": (inventory(group_vars={"shardinel_app_password": ""}), r"Missing or empty password: shardinel_app_password\."),
    "placeholder_password": (
        inventory(group_vars={"shardinel_admin_password": "CHANGE_ME-admin"}),
        r"Placeholder password.*: shardinel_admin_password\.",
    ),
    "password_shared_by_every_user": (
        inventory(group_vars={name: "one-for-all-9x" for name in PASSWORDS}),
        r"Every user needs its own password, but these share one: shardinel_admin_password and shardinel_replication_password and",
    ),
    "quorum_larger_than_sentinels": (
        inventory(group_vars=shards({"name": "a", "quorum": 5}, {"name": "b"})),
        r"shardinel_shards\[a\]\.quorum \(5, or shardinel_sentinel_quorum\) is larger than the number of Sentinels \(4\)",
    ),
    "placement_names_unknown_host": (
        inventory(group_vars=shards({"name": "a", "master": "server9"})),
        r'shardinel_shards\[a\]\.master names "server9", which is not a host of inventory group redis_servers',
    ),
    "unknown_replica_host": (
        inventory(group_vars=shards({"name": "a", "replicas": ["db7"]})),
        r'shardinel_shards\[a\]\.replicas names "db7", which is not a host of inventory group redis_servers',
    ),
    "strict_mode_without_surviving_majority": (
        inventory(group_vars={"shardinel_preflight_strict": True}),
        r"Losing host server1 leaves 2\..*shardinel_preflight_strict is true",
    ),
    "invalid_shard_name": (inventory(group_vars=shards({"name": "bad name"})), r'shardinel_shards: shard names must be .*invalid: "bad name"'),
    "example_inventory_placeholders": (
        REPO / "inventory" / "example",
        r"Placeholder password.*: shardinel_admin_password, shardinel_replication_password, shardinel_sentinel_password, "
        r"shardinel_app_password, shardinel_sentinel_admin_password, shardinel_sentinel_client_password\.",
    ),
    "missing_shard_name": (inventory(group_vars=shards({"port": 7000})), r"missing required arguments: name found in shardinel_shards"),
    "write_guard_above_replicas": (
        inventory(group_vars={"redis_server_min_replicas_to_write": 2}),
        r"redis_server_min_replicas_to_write is 2 on server1, above the number of replicas of shard shard1 \(1\): "
        r"its master would refuse every write",
    ),
    "write_guard_above_replicas_on_one_host": (
        inventory(host_vars={"server2": {"redis_server_min_replicas_to_write": 3}}),
        r"redis_server_min_replicas_to_write is 3 on server2, above the number of replicas of shard shard1 \(1\)",
    ),
    "write_guard_without_lag": (
        inventory(group_vars={"redis_server_min_replicas_to_write": 1, "redis_server_min_replicas_max_lag": 0}),
        r"redis_server_min_replicas_max_lag is 0 on server1; it must be at least 1 while redis_server_min_replicas_to_write is on",
    ),
    "unknown_engine": (inventory(group_vars={"shardinel_engine": "keydb"}), r"shardinel_engine must be one of: redis, valkey, got: keydb"),
    "valkey_on_debian_12": (
        inventory(group_vars={"shardinel_engine": "valkey"}),
        r"shardinel_engine valkey is supported on Debian 13 only; server1 runs Debian 12, server2 runs Debian 12\.",
    ),
    "engines_differ_between_hosts": (
        inventory(host_vars={"server2": {"shardinel_engine": "valkey"}}),
        r"shardinel_engine differs between hosts \(server1: redis, server2: valkey\): every host of a topology must run the same engine",
    ),
    "placeholder_monitor_password": (
        inventory(group_vars={"shardinel_monitor_password": "CHANGE_ME-monitor"}),
        r"Placeholder password.*: shardinel_monitor_password\.",
    ),
    "tls_only_without_tls": (inventory(group_vars={"shardinel_tls_only": True}),
                             r"shardinel_tls_only is true but shardinel_tls is false"),
    "tls_without_certificates": (
        inventory(group_vars={"shardinel_tls": True}),
        r"shardinel_tls is true but shardinel_tls_ca_file, shardinel_tls_cert_file, shardinel_tls_key_file are empty",
    ),
    "tls_certificate_missing_on_host": (
        inventory(group_vars={"shardinel_tls": True, "shardinel_tls_ca_file": "/nonexistent/ca.crt",
                              "shardinel_tls_cert_file": "/etc/hostname", "shardinel_tls_key_file": "/nonexistent/host.key"}),
        r"shardinel_tls_ca_file is /nonexistent/ca\.crt, shardinel_tls_key_file is /nonexistent/host\.key: not found on server",
    ),
    "previous_password_equals_current": (
        inventory(group_vars={"shardinel_app_previous_passwords": ["t-old-app-1", PASSWORDS["shardinel_app_password"]]}),
        r"shardinel_app_previous_passwords\[1\] equals shardinel_app_password: a previous password must differ from the current one",
    ),
    "previous_passwords_not_a_list": (
        inventory(group_vars={"shardinel_sentinel_admin_previous_passwords": "t-old-sentinel-admin"}),
        r"shardinel_sentinel_admin_previous_passwords must be a list of passwords",
    ),
    "sentinel_password_with_whitespace": (
        inventory(group_vars={"shardinel_sentinel_password": "t sentinel 91de"}),
        r"shardinel_sentinel_password must not contain whitespace",
    ),
    "databases_below_16": (
        inventory(host_vars={"server2": {"redis_server_databases": 8}}),
        r"redis_server_databases is 8 on server2; it must be 16 or more: the published shard layout is kept in database 15",
    ),
    "reshard_runner_not_a_data_host": (
        inventory(witnesses=("witness",), group_vars={"shardinel_reshard_runner": "witness"},
                  host_vars={"witness": {"shardinel_sentinel_count": 1}}),
        r'shardinel_reshard_runner names "witness", which is not a host of inventory group redis_servers',
    ),
    "negative_restart_delay": (
        inventory(group_vars={"redis_server_restart_delay": -1}),
        r"redis_server_restart_delay is -1 on server1; it must be 0 or more",
    ),
}

PASSING = {
    "seed_layout_warns": inventory(),
    "witness_survives_host_loss": inventory(witnesses=("witness",), group_vars={"shardinel_preflight_strict": True},
                                            host_vars={"witness": {"shardinel_sentinel_count": 1}}),
    "three_hosts_round_the_ring": inventory(servers=("server1", "server2", "server3")),
    "write_guard_with_one_replica_warns": inventory(group_vars={"redis_server_min_replicas_to_write": 1}),
    "write_guard_with_a_spare_replica": inventory(
        servers=("server1", "server2", "server3"),
        group_vars={"redis_server_min_replicas_to_write": 1,
                    **shards({"name": "a", "replicas": ["server2", "server3"]}, {"name": "b", "replicas": ["server1", "server3"]})}),
    "tls_generated": inventory(group_vars={"shardinel_tls": True, "shardinel_tls_generate": True}),
    "rotation_in_progress": inventory(group_vars={"shardinel_admin_previous_passwords": ["t-old-admin-1", "t-old-admin-2"]}),
    "restart_before_failover_warns": inventory(group_vars={"redis_server_restart_delay": 4, "shardinel_sentinel_down_after_milliseconds": 3000}),
}


def run_case(directory: Path, name: str, inventory_data: dict | Path) -> dict:
    case_dir = directory / name
    case_dir.mkdir()
    extra = {}
    if isinstance(inventory_data, Path):
        inventory_file = inventory_data
        extra = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    else:
        inventory_file = case_dir / "inventory.yml"
        inventory_file.write_text(yaml.safe_dump(copy.deepcopy(inventory_data)), encoding="utf-8")
    marker = case_dir / "marker"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(case_dir / "tmp"), ANSIBLE_STDOUT_CALLBACK="default")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory_file), str(PLAYBOOK),
         "-e", json.dumps({"preflight_marker": str(marker), **extra})],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )
    return {"rc": result.returncode, "output": result.stdout + result.stderr, "marker": marker.exists(), "dir": case_dir}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    subprocess.run(["bash", str(REPO / "scripts" / "collection-path.sh")], check=True, capture_output=True)
    directory = tmp_path_factory.mktemp("preflight")
    cases = {name: case[0] for name, case in FAILING.items()} | PASSING
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_case, directory, name, data) for name, data in cases.items()}
        return {name: future.result() for name, future in futures.items()}


def _facts(output: str) -> dict:
    match = re.search(r'SHARDINEL_FACTS=(\{.*\})"', output)
    assert match, output
    return json.loads(match.group(1).replace('\\"', '"'))


@pytest.mark.parametrize("case", sorted(FAILING))
def test_preflight_fails_naming_the_variable(results, case):
    result = results[case]
    pattern = FAILING[case][1]
    assert result["rc"] != 0, result["output"]
    assert re.search(pattern, re.sub(r"\s+", " ", result["output"])), result["output"]
    assert not result["marker"], "the run went past the preflight"
    assert not re.search(r"changed=[1-9]", result["output"]), result["output"]


def test_seed_layout_passes_with_survivability_warning(results):
    result = results["seed_layout_warns"]
    assert result["rc"] == 0 and result["marker"], result["output"]
    assert "WARNING: Sentinel majority is 3 of 4 Sentinels" in re.sub(r"\s+", " ", result["output"])
    facts = _facts(result["output"])
    assert [(s["name"], s["port"], s["master"], s["replicas"]) for s in facts["layout"]] == [
        ("shard1", 6379, "server1", ["server2"]), ("shard2", 6380, "server2", ["server1"])]
    assert facts["sentinel_addresses"] == ["127.0.1.1:26379", "127.0.1.1:26380", "127.0.2.1:26379", "127.0.2.1:26380"]
    assert facts["address_hosts"]["127.0.2.1:6379"] == "server2"


def test_witness_host_makes_host_loss_survivable(results):
    result = results["witness_survives_host_loss"]
    assert result["rc"] == 0 and result["marker"], result["output"]
    assert "WARNING" not in result["output"]
    facts = _facts(result["output"])
    assert facts["sentinel_addresses"][-1] == "127.0.3.1:26379" and len(facts["sentinel_addresses"]) == 5
    assert all(shard["quorum"] == 3 for shard in facts["layout"])


def test_three_hosts_place_round_the_ring(results):
    result = results["three_hosts_round_the_ring"]
    assert result["rc"] == 0, result["output"]
    placement = [(s["name"], s["master"], s["replicas"]) for s in _facts(result["output"])["layout"]]
    assert placement == [("shard1", "server1", ["server2"]), ("shard2", "server2", ["server3"]), ("shard3", "server3", ["server1"])]


def test_write_guard_with_one_replica_warns_about_host_loss(results):
    result = results["write_guard_with_one_replica_warns"]
    assert result["rc"] == 0 and result["marker"], result["output"]
    output = re.sub(r"\s+", " ", result["output"])
    assert "WARNING: on server1 (redis_server_min_replicas_to_write 1; shards shard1, shard2), server2 (" in output, output
    assert "losing a host stops writes everywhere" in output and "until the lost host returns" in output, output


def test_write_guard_with_a_spare_replica_passes_quietly(results):
    result = results["write_guard_with_a_spare_replica"]
    assert result["rc"] == 0 and result["marker"], result["output"]
    assert "the write guard asks for every replica" not in result["output"]


def test_restart_delay_not_above_failover_warns(results):
    result = results["restart_before_failover_warns"]
    assert result["rc"] == 0 and result["marker"], result["output"]
    output = re.sub(r"\s+", " ", result["output"])
    assert "WARNING: redis_server_restart_delay is not above the largest down_after_milliseconds (3000 ms) plus 1 s on server1, server2" in output
    assert "Set it above 4.0 s" in output


def test_default_settings_do_not_warn_about_guards(results):
    output = results["seed_layout_warns"]["output"]
    assert "WARNING: redis_server_restart_delay" not in output and "the write guard asks for every replica" not in output


def test_tls_generate_makes_a_ca_and_a_certificate_per_host(results):
    result = results["tls_generated"]
    assert result["rc"] == 0 and result["marker"], result["output"]
    generated = result["dir"] / "shardinel-tls"
    assert (generated / "ca.key").stat().st_mode & 0o777 == 0o600
    for host, ip in (("server1", "127.0.1.1"), ("server2", "127.0.2.1")):
        assert (generated / f"{host}.key").stat().st_mode & 0o777 == 0o600
        text = subprocess.run(["openssl", "x509", "-in", str(generated / f"{host}.crt"), "-noout", "-text"],
                              capture_output=True, text=True, check=True).stdout
        assert f"IP Address:{ip}" in text and "TLS Web Server Authentication" in text and "TLS Web Client Authentication" in text
        verified = subprocess.run(["openssl", "verify", "-CAfile", str(generated / "ca.crt"), str(generated / f"{host}.crt")],
                                  capture_output=True, text=True, check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PRIVATE KEY" not in result["output"]

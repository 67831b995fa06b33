"""The roles' decisions computed on the controller (plugins/plugin_utils): topology, the redis_server and redis_sentinel
layouts and restarts, and the upgrade's plan. The preflight's messages are also proven end to end through
ansible-playbook by tests/unit/roles/test_preflight.py."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.plugin_utils import (
    redis_exporter_plan, redis_sentinel_plan, redis_server_plan, upgrade_plan)
from ansible_collections.shardinel.redis.plugins.plugin_utils.topology_plan import plan

ENGINES = {"redis": {"platforms": ["Debian 12", "Debian 13"]}, "valkey": {"platforms": ["Debian 13"]}}
PASSWORDS = {"shardinel_admin_password": "a-1x", "shardinel_replication_password": "r-2x", "shardinel_sentinel_password": "s-3x",
             "shardinel_app_password": "p-4x", "shardinel_sentinel_admin_password": "sa-5x",
             "shardinel_sentinel_client_password": "sc-6x"}


def hosts(*names: str, **overrides: dict) -> dict:
    out = {name: {"announce_ip": f"10.0.{index}.1", "sentinel_count": 2, "sentinel_port": 26379, "engine": "redis",
                  "platform": "Debian 12"} for index, name in enumerate(names, start=1)}
    for name, values in overrides.items():
        out[name].update(values)
    return out


def settings(**extra: object) -> dict:
    base = {"shards": [], "redis_port": 6379, "sentinel_quorum": 0, "down_after_milliseconds": 5000, "failover_timeout": 60000,
            "parallel_syncs": 1, "engine": "redis", "engines": ENGINES, "tls_only": False, "reshard_runner": "", "strict": False,
            "tls": {"enabled": False, "generate": False, "shardinel_tls_ca_file": "", "shardinel_tls_cert_file": "",
                    "shardinel_tls_key_file": ""}, "passwords": dict(PASSWORDS)}
    base.update(extra)
    return base


def test_the_seed_layout_pairs_masters_and_replicas_on_opposing_hosts_and_warns_about_host_loss() -> None:
    result = plan(hosts("s1", "s2"), ["s1", "s2"], ["s1", "s2"], settings())
    assert result["problems"] == []
    assert [(s["name"], s["port"], s["master"], s["replicas"], s["quorum"]) for s in result["layout"]] == [
        ("shard1", 6379, "s1", ["s2"], 3), ("shard2", 6380, "s2", ["s1"], 3)]
    assert result["sentinel_addresses"] == ["10.0.1.1:26379", "10.0.1.1:26380", "10.0.2.1:26379", "10.0.2.1:26380"]
    assert result["address_hosts"]["10.0.2.1:6379"] == "s2"
    assert result["unsurvivable_hosts"] == [{"host": "s1", "sentinels_left": 2}, {"host": "s2", "sentinels_left": 2}]
    assert result["warnings"] == [result["survivability"]]
    assert result["survivability"].startswith("Sentinel majority is 3 of 4 Sentinels (largest quorum 3). Losing host s1 leaves 2.")


def test_a_witness_makes_every_host_loss_survivable() -> None:
    result = plan(hosts("s1", "s2", "w", w={"sentinel_count": 1}), ["s1", "s2"], ["s1", "s2", "w"], settings(strict=True))
    assert result["problems"] == [] and result["warnings"] == [] and result["survivability"] == ""
    assert len(result["sentinels"]) == 5 and {s["quorum"] for s in result["layout"]} == {3}


def test_every_problem_names_its_variable() -> None:
    shards = [{"name": "a", "master": "s1", "replicas": ["s1"]}, {"name": "a", "port": 26380}, {"name": "bad name", "master": "x9"}]
    passwords = dict(PASSWORDS, shardinel_app_password="", shardinel_admin_password="CHANGE_ME",
                     shardinel_app_previous_passwords=["old", "old"], shardinel_sentinel_password="with space")
    result = plan(hosts("s1", "s2", s2={"engine": "valkey"}), ["s1", "s2"], ["s1", "s2"],
                  settings(shards=shards, passwords=passwords, reshard_runner="w", tls_only=True))
    text = " ".join(result["problems"])
    for expected in ["shardinel_engine differs between hosts (s1: redis, s2: valkey)",
                     "shardinel_tls_only is true but shardinel_tls is false",
                     'invalid: "bad name"', "shardinel_shards: duplicate shard names: a.",
                     'shardinel_shards[bad name].master names "x9"', 'shardinel_reshard_runner names "w"',
                     "shardinel_shards[a] places its master and a replica on the same host s1",
                     "port collision at 10.0.2.1:26380 (host s2): shard a from shardinel_shards[a].port and Sentinel from shardinel_sentinel_port",
                     "Missing or empty password: shardinel_app_password.",
                     "Placeholder password, replace it (for example from ansible-vault): shardinel_admin_password.",
                     "shardinel_app_previous_passwords lists a password twice.",
                     "shardinel_sentinel_password must not contain whitespace"]:
        assert expected in text, (expected, text)


def test_redis_server_guards_and_warnings() -> None:
    layout = plan(hosts("s1", "s2"), ["s1", "s2"], ["s1", "s2"], settings())["layout"]
    good = {"redis_server_min_replicas_to_write": 1, "redis_server_min_replicas_max_lag": 10,
            "redis_server_repl_diskless_sync_delay": 0, "redis_server_restart_delay": 10, "redis_server_databases": 16}
    problems, warnings = redis_server_plan.guard_report(
        [{"host": "s1", "settings": good}, {"host": "s2", "settings": dict(good, redis_server_databases=8, redis_server_restart_delay=3)}],
        layout)
    assert problems == ["redis_server_databases is 8 on s2; it must be 16 or more: the published shard layout is kept in database 15"]
    assert warnings[0].startswith("on s1 (redis_server_min_replicas_to_write 1; shards shard1, shard2), s2 (")
    assert "is not above the largest down_after_milliseconds (5000 ms) plus 1 s on s2." in warnings[1]


def test_redis_server_layout_items() -> None:
    instances = [{"name": "shard1", "port": 6379}, {"name": "shard2", "port": 6380}]
    items = redis_server_plan.layout_items({
        "instances": instances, "config_dir": "/etc/redis/shardinel", "data_dir": "/var/lib/redis/shardinel",
        "log_dir": "/var/log/redis", "user": "redis", "group": "redis", "libexec_dir": "/usr/local/libexec/shardinel",
        "check_command": "/usr/local/libexec/shardinel/redis-check-config", "start_role_command": "/usr/local/libexec/shardinel/redis-start-role",
        "start_role_settings": "/etc/redis/shardinel/start-role.json", "start_role": {"sentinels": []},
        "helper_sources": {"redis-start-role": "/c/start.py", "redis_wire.py": "/c/wire.py"}, "unit": "/etc/systemd/system/u@.service",
        "target": "/etc/systemd/system/t.target", "distribution_units": ["redis-server.service"], "tls_dir": "/etc/redis/tls",
        "tls_files": [{"path": "/etc/redis/tls/ca.crt", "mode": "0640", "src": "/gen/ca.crt"}], "tls_pending": True})
    files = {item["path"]: item for item in items["files"]}
    assert items["files"][0]["path"].endswith("redis-check-config"), "the checker comes first: it validates the files after it"
    assert files["/etc/redis/shardinel/shard2.conf"]["create_only"] is True
    assert files["/etc/redis/shardinel/shard2.static.conf"]["vars"] == {"redis_server__instance": instances[1]}
    assert files["/etc/redis/shardinel/shard1.acl"]["validate"].endswith("--aclfile %s")
    assert files["/usr/local/libexec/shardinel/redis_wire.py"]["src"] == "/c/wire.py"
    assert "src" not in files["/etc/redis/tls/ca.crt"] and "generated" in files["/etc/redis/tls/ca.crt"]["content"]
    assert {"path": "/etc/systemd/system/redis-server.service", "target": "/dev/null"} in items["links"]
    assert items["units"] == ["shardinel-redis@shard1.service", "shardinel-redis@shard2.service"]


def test_restarts_follow_what_changed_and_masters_go_last() -> None:
    instances = [{"name": "shard1", "port": 6379}, {"name": "shard2", "port": 6380}]
    report = {"changed_paths": ["/c/shard1.static.conf", "/c/shard2.conf"], "created": ["/c/shard2.conf"]}
    assert redis_server_plan.changed_instances(report, instances, "s1", "10.0.1.1", "/c", "/u") == [
        {"host": "s1", "name": "shard1", "address": "10.0.1.1:6379"}]
    replaced = {"changed_paths": ["/u"], "created": []}
    assert len(redis_server_plan.changed_instances(replaced, instances, "s1", "10.0.1.1", "/c", "/u")) == 2
    queue = [{"host": "s1", "name": "shard1"}, {"host": "s2", "name": "shard1"}]
    shards = {"shard1": {"master": "10.0.1.1:6379"}}
    layout = [{"name": "shard1", "port": 6379}]
    assert redis_server_plan.restart_order(queue, shards, layout, {"s1": "10.0.1.1", "s2": "10.0.2.1"}) == [queue[1], queue[0]]


def test_sentinel_layout_and_restarts() -> None:
    items = redis_sentinel_plan.layout_items({
        "ports": [26379, 26380], "config_dir": "/c", "data_dir": "/d", "log_dir": "/l", "user": "redis", "group": "redis",
        "unit": "/u", "target": "/t", "distribution_units": [], "tls_dir": "/tls", "tls_files": [], "tls_pending": False})
    configs = [item for item in items["files"] if item.get("create_only")]
    assert [(item["path"], item["vars"]) for item in configs] == [
        ("/c/sentinel-26379.conf", {"redis_sentinel__port": 26379}), ("/c/sentinel-26380.conf", {"redis_sentinel__port": 26380})]
    assert redis_sentinel_plan.changed_sentinels({"changed_paths": ["/c/x"], "created": []}, [26379], "h", "/c", "/u") == []
    new_config = {"changed_paths": ["/u", "/c/sentinel-26380.conf"], "created": ["/c/sentinel-26380.conf"]}
    assert redis_sentinel_plan.changed_sentinels(new_config, [26379, 26380], "h", "/c", "/u") == [{"host": "h", "port": 26379}]


def test_upgrade_work() -> None:
    rows = upgrade_plan.versions(["redis-server 5:7.0.15-1 5:7.0.15-2 yes no", "redis-tools 5:7.0.15-2 5:7.0.15-2 yes no"])
    layout = [{"name": "shard1", "master": "s1", "replicas": ["s2"]}]
    sentinels = [{"host": "s1", "port": 26379}]
    work = upgrade_plan.work(rows, layout, sentinels, "s1", ["shardinel-sentinel@26379.service /usr/bin/redis-check-rdb (deleted)"],
                             ["redis-server", "redis-tools"])
    assert work == {"instances": ["shard1"], "switchover": True, "installs": ["redis-server=5:7.0.15-2"],
                    "stale_instances": [], "stale_sentinels": [26379]}
    assert upgrade_plan.units(layout, sentinels, "s1") == ["shardinel-redis@shard1.service", "shardinel-sentinel@26379.service"]


def test_the_restart_table_says_what_check_mode_would_do() -> None:
    done = [{"item": {"host": "s1", "name": "shard1"}, "master_before": "a:1", "new_master": "b:1", "failover_s": 0.9,
             "demoted_s": 0.2, "restart_s": 0.3, "back_s": 1.5, "restarted": True}, {"skipped": True}]
    assert redis_server_plan.restart_rows(done) == [redis_server_plan.RESTART_HEADER,
                                                    ["s1", "shard1", "a:1", "b:1", 0.9, 0.2, 0.3, 1.5]]
    checked = [{"item": {"host": "s1", "name": "shard1"}, "master_before": "a:1", "would_fail_over": True, "would_restart": True},
               {"item": {"host": "s2", "name": "shard1"}, "master_before": None, "would_fail_over": None, "would_restart": True}]
    assert redis_server_plan.restart_rows(checked) == [redis_server_plan.CHECK_HEADER, ["s1", "shard1", "a:1", "yes", "yes"],
                                                       ["s2", "shard1", None, "unknown", "yes"]]


def test_exporters_ports_and_restarts() -> None:
    layout = [{"name": "shard1", "port": 6379, "master": "s1", "replicas": ["s2"]},
              {"name": "shard2", "port": 6380, "master": "s2", "replicas": ["s1"]}]
    sentinels = [{"host": "s1", "port": 26380}, {"host": "s1", "port": 26379}, {"host": "s2", "port": 26379}]
    exporters = redis_exporter_plan.targets(layout, sentinels, "s2", {
        "ip": "10.0.2.1", "scheme": "rediss", "instances": True, "sentinels": True, "exporter_port": 9121, "sentinel_port": 9321})
    assert [(e["name"], e["address"], e["port"]) for e in exporters] == [
        ("shard-shard1", "rediss://10.0.2.1:6379", 9121), ("shard-shard2", "rediss://10.0.2.1:6380", 9122),
        ("sentinel-26379", "rediss://10.0.2.1:26379", 9321)]
    taken = redis_exporter_plan.taken_ports(["10.0.2.1:6379", "10.0.1.1:9122"], "10.0.2.1", 2742)
    assert taken == [6379, 9121]
    assert redis_exporter_plan.port_problems(exporters, taken, "10.0.2.1") == [
        "already used by a Redis instance or Sentinel on 10.0.2.1: shard shard1."]
    assert redis_exporter_plan.restarts(["a", "b"], False, ["b"], []) == ["b"]
    assert redis_exporter_plan.restarts(["a", "b"], True, [], ["a"]) == ["b"]


def test_sentinel_monitors_pending_follows_the_module_rule() -> None:
    layout = [{"name": name, "port": port, "master": "h1", "master_ip": "10.0.1.1", "replicas": ["h2"], "quorum": 2,
               "down_after_milliseconds": 5000, "failover_timeout": 60000, "parallel_syncs": 1}
              for name, port in (("shard1", 6379), ("shard2", 6380))]
    held = [{"name": shard["name"], "ip": "10.0.2.1", "port": shard["port"], "quorum": 2, "flags": ["master"],
             "config-epoch": 1, "down-after-milliseconds": 5000, "failover-timeout": 60000, "parallel-syncs": 1}
            for shard in layout]
    sentinels = ["10.0.1.1:26379", "10.0.1.1:26380"]
    views = {sentinel: [dict(state) for state in held] for sentinel in sentinels}
    masters = {"shard1": "10.0.2.1:6379", "shard2": "10.0.2.1:6380"}
    pending = redis_sentinel_plan.monitors_pending
    # Monitors as wanted (a failed-over master included: a monitor is never moved): nothing to do.
    assert pending(views, sentinels, layout, masters, False) == []
    # A Sentinel that did not answer at the start of the play, a missing shard, a changed setting.
    assert pending({sentinels[0]: views[sentinels[0]]}, sentinels, layout, masters, False) == [sentinels[1]]
    assert pending({**views, sentinels[0]: held[:1]}, sentinels, layout, masters, False) == [sentinels[0]]
    changed = [dict(shard, down_after_milliseconds=3000) if shard["name"] == "shard2" else shard for shard in layout]
    assert pending(views, sentinels, changed, masters, False) == sentinels
    # A monitor of a shard no longer wanted is pending only with prune.
    assert pending(views, sentinels, layout[:1], masters, False) == []
    assert pending(views, sentinels, layout[:1], masters, True) == sentinels
    # What the module would refuse is refused here, naming the setting.
    try:
        pending(views, sentinels, [dict(layout[0], quorum=0)], masters, False)
    except ValueError as error:
        assert "quorum must be positive" in str(error)
    else:
        raise AssertionError("a quorum of 0 was accepted")

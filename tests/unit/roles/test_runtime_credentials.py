"""runtime_credentials.py, run by the roles after the layout: ACL users, masterauth and the Sentinels' credentials
reach running servers without a restart, and a three-step password rotation fails no command of a client that is
connected throughout.

Run as the roles run it (the script on stdin-fed JSON, the redis-cli of this machine), against real processes.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from ansible_collections.shardinel.redis.plugins.filter.acl_users import acl_users
from command_traffic import CommandTraffic
from redis_topology import REDIS_USER_RULES, SENTINEL_USER_RULES, RedisTopology, User
from shardinel import ShardedSentinelClient

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "shardinel" / "files" / "runtime_credentials.py"
CLI = ["redis-cli"]


def acl_user(name: str, rules: str, passwords: list[str]) -> dict:
    return {"name": name, "password": passwords[0], "previous_passwords": passwords[1:], "rules": rules}


def targets(topology: RedisTopology, accepted: dict[str, list[str]]) -> tuple[list[dict], list[dict]]:
    """(Redis targets, Sentinel targets) as the roles build them: ``accepted`` maps a user to its passwords, current first."""
    default_off = {"name": "default", "enabled": False}
    redis_users = acl_users([default_off] + [acl_user(role, rules, accepted[role]) for role, rules in REDIS_USER_RULES.items()])
    sentinel_users = acl_users([default_off] + [acl_user(name, SENTINEL_USER_RULES[name], accepted[name]) for name in SENTINEL_USER_RULES])
    redis_targets = [{"address": member.address_string, "kind": "redis", "login_user": "admin", "login_passwords": accepted["admin"],
                      "login_variable": "shardinel_admin_password", "users": redis_users,
                      "config": {"masteruser": "replication", "masterauth": accepted["replication"][0]}}
                     for shard in topology.shards for member in shard.members]
    sentinel_targets = [{"address": sentinel.address_string, "kind": "sentinel", "login_user": "sentinel-admin",
                         "login_passwords": accepted["sentinel-admin"], "login_variable": "shardinel_sentinel_admin_password",
                         "users": sentinel_users,
                         "sentinel_config": {"sentinel-user": "sentinel-admin", "sentinel-pass": accepted["sentinel-admin"][0]},
                         "monitor_auth": {"auth-user": "sentinel", "auth-pass": accepted["sentinel"][0]},
                         "shards": topology.shard_names, "config_file": str(sentinel.config)}
                        for sentinel in topology.sentinels]
    return redis_targets, sentinel_targets


def run(phase: str, server_targets: list[dict], check: bool = False, secrets: list[str] | None = None) -> dict:
    spec = {"phase": phase, "check": check, "cli": CLI, "targets": server_targets, "redact": secrets or []}
    result = subprocess.run([sys.executable, str(SCRIPT)], input=json.dumps(spec), capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def converge(topology: RedisTopology, accepted: dict[str, list[str]], check: bool = False) -> dict:
    """One site.yml run: the Redis play (accept, use) on every instance, then the Sentinel play on every Sentinel."""
    redis_targets, sentinel_targets = targets(topology, accepted)
    changed: dict = {}
    for server_targets in (redis_targets, sentinel_targets):
        for phase in ("accept", "use"):
            for address, what in run(phase, server_targets, check)["changed"].items():
                changed.setdefault(address, []).extend(what)
    return changed


def current_passwords(topology: RedisTopology) -> dict[str, list[str]]:
    accepted = {role: [user.password] for role, user in topology.users.items()}
    accepted.update({user.username: [user.password] for user in topology.sentinel_users.values()})
    return accepted


def run_ids(topology: RedisTopology) -> dict[str, str]:
    ids = {}
    for process in topology.processes.values():
        client = redis.Redis(host=process.host, port=process.port, username="sentinel-admin" if process.sentinel else "admin",
                             password=(topology.sentinel_users["admin"] if process.sentinel else topology.users["admin"]).password,
                             socket_timeout=5, decode_responses=True)
        ids[process.name] = client.info("server")["run_id"]
        client.close()
    return ids


def links_up(topology: RedisTopology, admin_password: str) -> bool:
    for shard in topology.shards:
        for member in shard.members:
            info = redis.Redis(host=member.host, port=member.port, username="admin", password=admin_password,
                               socket_timeout=5, decode_responses=True).info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
    return True


class SdownWatch:
    """Every +sdown/+odown event any Sentinel publishes while it runs."""

    def __init__(self, topology: RedisTopology) -> None:
        self.events: list[str] = []
        self._pubsubs = []
        for sentinel in topology.sentinels:
            pubsub = topology.sentinel_client(sentinel).pubsub()
            pubsub.subscribe(**{"+sdown": self._record, "+odown": self._record})
            self._pubsubs.append(pubsub.run_in_thread(sleep_time=0.05, daemon=True))

    def _record(self, message: dict) -> None:
        self.events.append(f"{message['channel']} {message['data']}")

    def stop(self) -> None:
        for thread in self._pubsubs:
            thread.stop()


@pytest.fixture()
def topology(tmp_path: Path):
    running = RedisTopology.start(tmp_path / "topology", shard_count=2)
    yield running
    running.stop()


def test_a_fresh_topology_needs_no_change_and_check_mode_changes_nothing(topology):
    accepted = current_passwords(topology)
    assert converge(topology, accepted) == {}
    before = run_ids(topology)
    rotated = {**accepted, "app": ["new-app-pass", *accepted["app"]]}
    planned = converge(topology, rotated, check=True)
    assert all(what == ["app"] for address, what in planned.items() if "sentinel" not in address), planned
    assert len(planned) == 2 * len(topology.shards)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=topology.shards[0].master.port, username="app", password="new-app-pass").ping()
    assert run_ids(topology) == before


def test_three_step_rotation_fails_no_command_and_restarts_nothing(topology):
    old = current_passwords(topology)
    new = {user: [f"rotated-{user}-{index}"] for index, user in enumerate(old)}
    before = run_ids(topology)
    watch = SdownWatch(topology)
    old_client = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    try:
        with CommandTraffic(old_client, "old") as old_traffic:
            time.sleep(0.5)
            # Step 1: every user accepts the new password; the servers use it for their own links.
            step1 = converge(topology, {user: new[user] + old[user] for user in old})
            assert {what for changes in step1.values() for what in changes} >= {"admin", "app", "masterauth", "sentinel-pass"}
            assert links_up(topology, new["admin"][0])
            assert converge(topology, {user: new[user] + old[user] for user in old}) == {}
            # Step 2: the applications move to the new password (a new client), the old one keeps running.
            kwargs = dict(username="app", password=new["app"][0], sentinel_username="sentinel-client",
                          sentinel_password=new["sentinel-client"][0])
            with ShardedSentinelClient(topology.sentinel_addresses, **kwargs) as new_client, CommandTraffic(new_client, "new") as new_traffic:
                time.sleep(1.0)
                # Step 3: the old passwords are dropped.
                step3 = converge(topology, new)
                assert {what for changes in step3.values() for what in changes} >= {"admin", "app", "sentinel-admin"}
                time.sleep(1.0)
        assert converge(topology, new) == {}
    finally:
        old_client.close()
        watch.stop()
    print(f"rotation: {old_traffic.commands} commands through the old client, {new_traffic.commands} through the new one,"
          f" {len(old_traffic.failures) + len(new_traffic.failures)} failed")
    assert old_traffic.failures == [] and new_traffic.failures == []
    assert old_traffic.commands > 100 and new_traffic.commands > 100
    assert watch.events == []
    assert links_up(topology, new["admin"][0])
    topology.users = {role: User(role, new[role][0]) for role in topology.users}
    topology.sentinel_users = {key: User(user.username, new[user.username][0]) for key, user in topology.sentinel_users.items()}
    assert run_ids(topology) == before
    master = topology.shards[0].master
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=master.host, port=master.port, username="app", password=old["app"][0]).ping()
    # The Sentinels saved their users and credentials: one restarted from its file takes the new password only.
    sentinel = topology.sentinels[0]
    sentinel.kill()
    topology.restart(sentinel)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=sentinel.host, port=sentinel.port, username="sentinel-admin", password=old["sentinel-admin"][0]).ping()
    assert topology.sentinel_client(sentinel).sentinel_master(topology.shard_names[0])["num-other-sentinels"] in (2, "2")


def test_a_login_refused_with_every_password_names_the_variable(topology):
    redis_targets, _sentinel_targets = targets(topology, {**current_passwords(topology), "admin": ["wrong-1", "wrong-2"]})
    spec = {"phase": "accept", "check": False, "cli": CLI, "targets": redis_targets[:1], "redact": ["wrong-1"]}
    result = subprocess.run([sys.executable, str(SCRIPT)], input=json.dumps(spec), capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 1
    assert "refuses user admin with shardinel_admin_password and its previous passwords" in result.stderr
    assert "wrong-1" not in result.stderr


def test_subcommand_rules_listed_in_another_order_are_the_same_user():
    """Seen in the witness drills: after a restart Redis 7.0 listed -function|flush and -function|restore the other way
    round than for the same rules set at runtime, and the converge reported a change."""
    spec = importlib.util.spec_from_file_location("runtime_credentials", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    user = {"enabled": True, "hashes": ["a" * 64]}
    held = {"flags": ["on"], "passwords": ["a" * 64], "commands": "-@all +@read -function|flush -function|restore",
            "keys": "~*", "channels": "&*", "selectors": []}
    probe = dict(held, commands="-@all +@read -function|restore -function|flush")
    assert module.difference(held, probe, user) is None
    assert module.difference(held, dict(probe, commands="-@all +@read -function|restore"), user).startswith("commands")

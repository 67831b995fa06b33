"""shardinel.redis.runtime_credentials, run through its entry point against real processes: ACL users, masterauth and
the Sentinels' credentials reach running servers without a restart, a three-step password rotation fails no command
of a client connected throughout, and check mode changes nothing on any server (the wanted rules are read by a
throwaway server, never by a server of the topology).
"""

from __future__ import annotations

import hashlib
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from ansible_collections.shardinel.redis.plugins.filter.acl_users import acl_users
from ansible_collections.shardinel.redis.plugins.module_utils.acl_user_changes import RuleReader, RulesRefused, difference
from command_traffic import CommandTraffic
from module_runner import ModuleRunner  # pylint: disable=import-error
from redis_topology import REDIS_SENTINEL, REDIS_SERVER, REDIS_USER_RULES, SENTINEL_USER_RULES, RedisTopology, User
from shardinel import ShardedSentinelClient

# The Redis commands that change users or settings; check mode must leave their counters as they were.
CHANGING_COMMANDS = ("acl|setuser", "acl|deluser", "acl|load", "acl|save", "config|set", "config|rewrite")


def acl_user(name: str, rules: str, passwords: list[str]) -> dict[str, Any]:
    return {"name": name, "password": passwords[0], "previous_passwords": passwords[1:], "rules": rules}


def current_passwords(topology: RedisTopology) -> dict[str, list[str]]:
    accepted = {role: [user.password] for role, user in topology.users.items()}
    accepted.update({user.username: [user.password] for user in topology.sentinel_users.values()})
    return accepted


def tls_args(topology: RedisTopology) -> dict[str, Any]:
    if topology.tls is None:
        return {}
    return {"tls": True, "tls_ca_file": str(topology.tls.ca), "tls_cert_file": str(topology.tls.client_cert),
            "tls_key_file": str(topology.tls.client_key)}


def redis_args(topology: RedisTopology, accepted: dict[str, list[str]], phase: str) -> dict[str, Any]:
    """The arguments the redis_server role passes for its instances (here every instance of the topology)."""
    users = acl_users([{"name": "default", "enabled": False}]
                      + [acl_user(role, rules, accepted[role]) for role, rules in REDIS_USER_RULES.items()])
    args = {"phase": phase, "kind": "redis", "servers": [m.address_string for s in topology.shards for m in s.members],
            "login_user": "admin", "login_passwords": accepted["admin"], "login_variable": "shardinel_admin_password",
            "server_binary": REDIS_SERVER, **tls_args(topology)}
    use = {"masteruser": "replication", "masterauth": accepted["replication"][0]}
    if phase == "accept":
        return {**args, "users": users, **use}
    return {**args, **use}


def sentinel_args(topology: RedisTopology, accepted: dict[str, list[str]], phase: str) -> dict[str, Any]:
    """The arguments the redis_sentinel role passes for its Sentinels (here every Sentinel of the topology)."""
    users = acl_users([{"name": "default", "enabled": False}]
                      + [acl_user(name, rules, accepted[name]) for name, rules in SENTINEL_USER_RULES.items()])
    args = {"phase": phase, "kind": "sentinel", "servers": topology.sentinel_addresses, "login_user": "sentinel-admin",
            "login_passwords": accepted["sentinel-admin"], "login_variable": "shardinel_sentinel_admin_password",
            "server_binary": REDIS_SENTINEL, **tls_args(topology)}
    use = {"sentinel_user": "sentinel-admin", "sentinel_pass": accepted["sentinel-admin"][0],
           "auth_user": "sentinel", "auth_pass": accepted["sentinel"][0]}
    if phase == "accept":
        return {**args, "users": users, **use}
    return {**args, **use, "shards": topology.shard_names}


def converge(run_module: ModuleRunner, topology: RedisTopology, accepted: dict[str, list[str]],
             check_mode: bool = False, diff: bool = False) -> dict[str, list[str]]:
    """One site.yml run: the Redis play (accept, use) on every instance, then the Sentinel play on every Sentinel. As in
    the roles, the use phase runs only when the accept phase found it pending; where it did not, the use phase in check
    mode must find nothing to change."""
    changed: dict[str, list[str]] = {}
    for build in (redis_args, sentinel_args):
        pending = True
        for phase in ("accept", "use"):
            if phase == "use" and not pending:
                unneeded = run_module("runtime_credentials", build(topology, accepted, phase), check_mode=True)
                assert unneeded.rc == 0 and not unneeded["changed"], ("use_pending was false", unneeded)
                continue
            result = run_module("runtime_credentials", build(topology, accepted, phase), check_mode=check_mode, diff=diff)
            pending = result.get("use_pending", True) if phase == "accept" else pending
            assert result.rc == 0 and not result.get("failed"), result
            assert result["not_running"] == []
            assert result["changed"] == bool(result["changes"])
            assert_no_secret(result.output, accepted)
            for address, what in result["changes"].items():
                changed.setdefault(address, []).extend(what)
    return changed


def assert_no_secret(output: str, accepted: dict[str, list[str]]) -> None:
    for passwords in accepted.values():
        for password in passwords:
            assert password not in output
            assert hashlib.sha256(password.encode()).hexdigest() not in output


def admin_client(topology: RedisTopology, process: Any, **kwargs: Any) -> redis.Redis:
    if process.sentinel:
        return topology.sentinel_client(process)
    return topology.redis_client(process.address, decode_responses=True, **kwargs)


def server_state(topology: RedisTopology) -> dict[str, dict[str, Any]]:
    """Per server: its run id, users, settings and, on Redis (Sentinel keeps no command statistics), the counts of
    every command that changes users or settings; on a Sentinel the credential lines of its config file."""
    state = {}
    for process in topology.processes.values():
        client = admin_client(topology, process)
        try:
            state[process.name] = {"run_id": client.info("server")["run_id"],
                                   "users": sorted(client.execute_command("ACL", "LIST"))}
            if process.sentinel:
                state[process.name]["settings"] = [client.execute_command("SENTINEL", "CONFIG", "GET", name)
                                                   for name in ("sentinel-user", "sentinel-pass")]
                state[process.name]["file"] = [line for line in process.config.read_text().splitlines()
                                               if line.startswith(("user ", "sentinel auth-", "sentinel sentinel-"))]
            else:
                stats = client.info("commandstats")
                counts = {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in CHANGING_COMMANDS}
                state[process.name]["counts"] = counts
                state[process.name]["settings"] = [client.config_get("masteruser"), client.config_get("masterauth")]
        finally:
            client.close()
    return state


def links_up(topology: RedisTopology) -> bool:
    for shard in topology.shards:
        for member in shard.members:
            info = admin_client(topology, member).info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
    return True


class SdownWatch:
    """Every +sdown/+odown event any Sentinel publishes while it runs."""

    def __init__(self, topology: RedisTopology) -> None:
        self.events: list[str] = []
        self._threads = []
        for sentinel in topology.sentinels:
            pubsub = topology.sentinel_client(sentinel).pubsub()
            pubsub.subscribe(**{"+sdown": self._record, "+odown": self._record})
            self._threads.append(pubsub.run_in_thread(sleep_time=0.05, daemon=True))

    def _record(self, message: dict[str, Any]) -> None:
        self.events.append(f"{message['channel']} {message['data']}")

    def stop(self) -> None:
        for thread in self._threads:
            thread.stop()


def test_a_fresh_topology_needs_no_change_and_check_mode_changes_nothing(fresh_topology, run_module):
    topology = fresh_topology
    accepted = current_passwords(topology)
    assert converge(run_module, topology, accepted) == {}
    before = server_state(topology)
    rotated = {user: [f"next-{user}-9c1", *passwords] for user, passwords in accepted.items()}
    planned = converge(run_module, topology, rotated, check_mode=True, diff=True)
    members = [m.address_string for s in topology.shards for m in s.members]
    for address in members:
        assert sorted(planned[address]) == sorted([*REDIS_USER_RULES, "masterauth"]), planned
    for address in topology.sentinel_addresses:
        assert sorted(planned[address]) == sorted(["sentinel-admin", "sentinel-client", "config file", "sentinel-pass",
                                                   *(f"{shard} auth-pass" for shard in topology.shard_names)]), planned
    assert server_state(topology) == before, "check mode changed a server"
    with pytest.raises(redis.AuthenticationError):
        master = topology.shards[0].master
        redis.Redis(host=master.host, port=master.port, username="app", password="next-app-9c1").ping()
    # The same run for real changes what the proof above watches.
    assert converge(run_module, topology, rotated) == planned
    after = server_state(topology)
    for name, state in after.items():
        assert state["run_id"] == before[name]["run_id"] and state["users"] != before[name]["users"]
        assert state["settings"] != before[name]["settings"]
        if topology.processes[name].sentinel:
            assert state["file"] != before[name]["file"]
        else:
            moved = {command for command in CHANGING_COMMANDS if state["counts"][command] != before[name]["counts"][command]}
            assert moved == {"acl|setuser", "config|set"}, (name, moved)


def test_check_mode_diff_shows_users_and_settings_without_secrets(fresh_topology, run_module):
    topology = fresh_topology
    accepted = current_passwords(topology)
    rotated = {**accepted, "app": ["next-app-51d", *accepted["app"]], "replication": ["next-repl-51d"]}
    before = server_state(topology)
    accept = run_module("runtime_credentials", redis_args(topology, rotated, "accept"), check_mode=True, diff=True)
    use = run_module("runtime_credentials", redis_args(topology, rotated, "use"), check_mode=True, diff=True)
    assert server_state(topology) == before
    address = topology.shards[0].master.address_string
    assert accept["changed"] and accept["changes"][address] == ["replication", "app"]
    assert accept["reasons"][address] == {"app": "passwords (1 held, 2 wanted)", "replication": "passwords (1 held, 1 wanted)"}
    diff = next(entry for entry in accept["diff"] if entry["before_header"].startswith(address))
    app_before = next(line for line in diff["before"].splitlines() if line.startswith("user app "))
    app_after = next(line for line in diff["after"].splitlines() if line.startswith("user app "))
    assert "passwords: p" in app_before and app_after.split("passwords: ")[1].split()[1] == app_before.split("passwords: ")[1].split()[0]
    assert 'keys: "~*"' in app_after
    assert "user admin" in diff["before"] and diff["before"].count("\n") == 5
    assert accept["use_pending"] is True and use["use_pending"] is False
    assert use["changes"][address] == ["masterauth"]
    diff = next(entry for entry in use["diff"] if entry["before_header"].startswith(address))
    assert diff["before"] == "masteruser: replication\nmasterauth: (hidden 1)\n"
    assert diff["after"] == "masteruser: replication\nmasterauth: (hidden 2)\n"
    assert_no_secret(accept.output + use.output, rotated)


def test_three_step_rotation_fails_no_command_and_restarts_nothing(fresh_topology, run_module):
    topology = fresh_topology
    old = current_passwords(topology)
    new = {user: [f"rotated-{user}-{index}"] for index, user in enumerate(old)}
    run_ids = {name: state["run_id"] for name, state in server_state(topology).items()}
    watch = SdownWatch(topology)
    old_client = ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs())
    try:
        with CommandTraffic(old_client, "old") as old_traffic:
            time.sleep(0.5)
            # Step 1: every user accepts the new password; the servers use it for their own links.
            both = {user: new[user] + old[user] for user in old}
            step1 = converge(run_module, topology, both)
            assert {what for changes in step1.values() for what in changes} >= {"admin", "app", "masterauth", "sentinel-pass"}
            topology.users = {role: User(role, new[role][0]) for role in topology.users}
            topology.sentinel_users = {key: User(user.username, new[user.username][0])
                                       for key, user in topology.sentinel_users.items()}
            assert links_up(topology)
            assert converge(run_module, topology, both) == {}
            # Step 2: the applications move to the new password (a new client), the old one keeps running.
            kwargs = dict(username="app", password=new["app"][0], sentinel_username="sentinel-client",
                          sentinel_password=new["sentinel-client"][0])
            with ShardedSentinelClient(topology.sentinel_addresses, **kwargs) as new_client, \
                    CommandTraffic(new_client, "new") as new_traffic:
                time.sleep(1.0)
                # Step 3: the old passwords are dropped.
                step3 = converge(run_module, topology, new)
                assert {what for changes in step3.values() for what in changes} >= {"admin", "app", "sentinel-admin"}
                time.sleep(1.0)
        assert converge(run_module, topology, new) == {}
    finally:
        old_client.close()
        watch.stop()
    print(f"rotation: {old_traffic.commands} commands through the old client, {new_traffic.commands} through the new one,"
          f" {len(old_traffic.failures) + len(new_traffic.failures)} failed")
    assert old_traffic.failures == [] and new_traffic.failures == []
    assert old_traffic.commands > 100 and new_traffic.commands > 100
    assert watch.events == []
    assert links_up(topology)
    assert {name: state["run_id"] for name, state in server_state(topology).items()} == run_ids
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


def test_a_login_refused_with_every_password_names_the_variable(shared_topology, run_module):
    accepted = {**current_passwords(shared_topology), "admin": ["wrong-1-e4f", "wrong-2-e4f"]}
    args = redis_args(shared_topology, accepted, "accept")
    result = run_module("runtime_credentials", {**args, "servers": args["servers"][:1]})
    assert result.get("failed") and result.rc != 0
    assert "refuses user admin with shardinel_admin_password and its previous passwords" in result["msg"]
    assert "wrong-1-e4f" not in result.output and "wrong-2-e4f" not in result.output


def test_a_previous_password_still_logs_in(shared_topology, run_module):
    accepted = current_passwords(shared_topology)
    args = redis_args(shared_topology, {**accepted, "admin": ["not-yet-accepted-17b", *accepted["admin"]]}, "accept")
    result = run_module("runtime_credentials", {**args, "users": redis_args(shared_topology, accepted, "accept")["users"]},
                        check_mode=True)
    assert result.rc == 0 and result["changed"] is False and result["changes"] == {}, result


def test_a_server_that_does_not_answer_is_skipped_and_named(shared_topology, run_module):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = "127.0.0.1:%d" % probe.getsockname()[1]
    args = redis_args(shared_topology, current_passwords(shared_topology), "accept")
    result = run_module("runtime_credentials", {**args, "servers": [closed, *args["servers"]], "server_binary": "/nonexistent"},
                        check_mode=True)
    assert result.get("failed") and "server_binary: /nonexistent is not an executable file" in result["msg"]
    result = run_module("runtime_credentials", {**args, "servers": [closed]}, check_mode=True)
    assert result.rc == 0 and result["not_running"] == [closed] and result["changed"] is False
    assert f"{closed}: Connection refused; skipped: it reads its files when it starts" in str(result["warnings"])
    # A host where nothing runs needs no engine binary: none is started.
    result = run_module("runtime_credentials", {**args, "servers": [closed], "server_binary": "/nonexistent"}, check_mode=True)
    assert result.rc == 0 and result["not_running"] == [closed]


def test_rules_the_engine_refuses_fail_naming_the_user_and_change_nothing(shared_topology, run_module):
    accepted = current_passwords(shared_topology)
    args = redis_args(shared_topology, accepted, "accept")
    users = [dict(user, rules="+nosuchcommand-2b") if user["name"] == "app" else user for user in args["users"]]
    before = server_state(shared_topology)
    result = run_module("runtime_credentials", {**args, "users": users})
    assert result.get("failed") and "the rules of app are refused by" in result["msg"], result
    assert server_state(shared_topology) == before


def test_sentinel_rules_are_read_by_a_sentinel(shared_topology, run_module):
    """A Sentinel knows +sentinel|get-master-addr-by-name, a Redis server does not: the throwaway server of a Sentinel
    target runs in Sentinel mode (also when the binary given is redis-server, which --sentinel switches)."""
    args = sentinel_args(shared_topology, current_passwords(shared_topology), "accept")
    assert run_module("runtime_credentials", args, check_mode=True)["changed"] is False
    assert run_module("runtime_credentials", {**args, "server_binary": REDIS_SERVER}, check_mode=True)["changed"] is False
    rules = SENTINEL_USER_RULES["sentinel-client"]
    reader = RuleReader(REDIS_SERVER, False)
    try:
        with pytest.raises(RulesRefused, match="the rules of sentinel-client are refused by .*get-master-addr-by-name"):
            reader.fields([{"name": "sentinel-client", "rules": rules}])
    finally:
        reader.close()


def test_an_unknown_user_is_deleted_and_a_changed_one_set_back(fresh_topology, run_module):
    topology = fresh_topology
    accepted = current_passwords(topology)
    master = topology.shards[0].master
    client = topology.redis_client(master.address, decode_responses=True)
    client.execute_command("ACL", "SETUSER", "intruder", "on", ">intruder-pass", "+@all")
    client.execute_command("ACL", "SETUSER", "app", "-get")
    result = run_module("runtime_credentials", redis_args(topology, accepted, "accept"), diff=True)
    assert result["changes"] == {master.address_string: ["app", "intruder"]}
    assert result["reasons"][master.address_string]["app"].startswith("commands: held ")
    diff = result["diff"][0]
    assert "user intruder" in diff["before"] and "user intruder" not in diff["after"]
    assert "intruder" not in client.execute_command("ACL", "USERS")
    client.close()
    assert run_module("runtime_credentials", redis_args(topology, accepted, "accept"))["changed"] is False


def test_tls(tls_topology, run_module):
    accepted = current_passwords(tls_topology)
    before = server_state(tls_topology)
    assert converge(run_module, tls_topology, accepted) == {}
    rotated = {**accepted, "app": ["next-app-tls", *accepted["app"]]}
    planned = converge(run_module, tls_topology, rotated, check_mode=True)
    assert planned == {m.address_string: ["app"] for s in tls_topology.shards for m in s.members}
    assert server_state(tls_topology) == before


def test_wrong_options_are_refused_naming_them(shared_topology, run_module):
    accepted = current_passwords(shared_topology)
    args = redis_args(shared_topology, accepted, "use")
    result = run_module("runtime_credentials", {**args, "auth_pass": "x-auth-77"})
    assert result.get("failed") and result["msg"] == "auth_pass is a setting of kind=sentinel servers, not of kind=redis"
    result = run_module("runtime_credentials", {**args, "phase": "accept"})
    assert result.get("failed") and result["msg"] == "users is required in phase accept"
    users = [{"name": "app", "hashes": ["plain-password-3c"], "rules": "+get"}]
    result = run_module("runtime_credentials", {**args, "phase": "accept", "users": users})
    assert result.get("failed") and "users[0] (app): hashes must be SHA-256 hex digests" in result["msg"]
    assert "plain-password-3c" not in result.output
    result = run_module("runtime_credentials", {**args, "login_passwords": []})
    assert result.get("failed") and result["msg"].startswith("login_passwords: at least one password is required")


def test_subcommand_rules_listed_in_another_order_are_the_same_user():
    """Seen in the witness drills: after a restart Redis 7.0 listed -function|flush and -function|restore the other way
    round than for the same rules set at runtime, and the converge reported a change."""
    user = {"enabled": True, "nopass": False, "hashes": ["a" * 64]}
    held = {"flags": ["on"], "passwords": ["a" * 64], "commands": "-@all +@read -function|flush -function|restore",
            "keys": "~*", "channels": "&*", "selectors": []}
    wanted = dict(held, commands="-@all +@read -function|restore -function|flush")
    assert difference(held, wanted, user) is None
    assert difference(held, dict(wanted, commands="-@all +@read -function|restore"), user).startswith("commands")


def test_the_throwaway_server_leaves_nothing_behind(tmp_path: Path):
    before = set(Path(tempfile.gettempdir()).glob("shardinel-scratch-*"))
    reader = RuleReader(REDIS_SERVER, False)
    started = time.monotonic()
    fields = reader.fields([{"name": "app", "rules": "~* allchannels +@read -function|flush"}])
    elapsed = time.monotonic() - started
    process = reader._server.process  # pylint: disable=protected-access
    reader.close()
    assert fields["~* allchannels +@read -function|flush"]["keys"] == "~*"
    assert process.poll() is not None
    assert set(Path(tempfile.gettempdir()).glob("shardinel-scratch-*")) == before
    print(f"throwaway server: rules read in {elapsed * 1000:.1f} ms")

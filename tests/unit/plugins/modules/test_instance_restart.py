"""shardinel.redis.instance_restart through its real entry point, against real Redis and Sentinel processes: the
switchover of a master (SENTINEL FAILOVER, then the old master a connected replica of the new one), the restart of a
replica and of a master, check mode, and the refusals.

There is no systemd here: a stand-in ``systemctl`` on PATH asks the test to restart the unit's process as the unit
would (SIGTERM, then the start helper as ExecStartPre, then redis-server with the file it wrote included); the test's
main thread does it while the module runs in another, because a process started from a thread dies with that thread.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from module_runner import all_secrets  # pylint: disable=import-error
from redis_topology import install_start_helper

from ansible_collections.shardinel.redis.plugins.module_utils.instance_restart import InstanceRestart
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import ShardWatch
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_addresses

STAND_IN = """#!{python}
import socket, sys
with socket.socket(socket.AF_UNIX) as unit_manager:
    unit_manager.connect({path!r})
    unit_manager.sendall(" ".join(sys.argv[1:]).encode() + b"\\n")
    code, _space, text = unit_manager.makefile().read().partition(" ")
sys.stderr.write(text)
sys.exit(int(code))
"""


def address_text(address) -> str:
    return f"{address[0]}:{address[1]}"


def unit_of(topology, address) -> str:
    """The stand-in unit of the instance at address: named after its process ("shard1-master")."""
    return f"shardinel-redis@{topology.process_at(address).name}.service"


def restart_args(topology, shard, address, sentinel_user="admin", **extra):
    sentinel, admin = topology.sentinel_users[sentinel_user], topology.users["admin"]
    args = {"shard": shard, "address": address_text(address), "unit": unit_of(topology, address),
            "sentinels": topology.sentinel_addresses, "sentinel_username": sentinel.username,
            "sentinel_password": sentinel.password, "username": admin.username, "password": admin.password, "timeout": 30}
    if topology.tls is not None:
        args.update(tls=True, tls_ca_file=str(topology.tls.ca), tls_cert_file=str(topology.tls.client_cert),
                    tls_key_file=str(topology.tls.client_key))
    return dict(args, **extra)


def other_member(topology, shard, address):
    return next(m.address for m in topology.shard(shard).members if m.address != tuple(address))


class Units:
    """The stand-in systemctl and what it was asked; ``run(args)`` runs the module while serving its requests."""

    def __init__(self, topology, directory: Path, run_module):
        self.topology = topology
        self.directory = directory
        self.run_module = run_module
        self.requests: list[str] = []
        self.refusals: dict[str, str] = {}
        self.start_roles: list[str] = []
        self.helper = install_start_helper(directory / "libexec")
        self.socket_path = str(directory / "units.sock")
        self.bin_dir = directory / "bin"
        self.bin_dir.mkdir()
        stand_in = self.bin_dir / "systemctl"
        stand_in.write_text(STAND_IN.format(python=sys.executable, path=self.socket_path), encoding="utf-8")
        stand_in.chmod(0o755)

    def run(self, args, check_mode=False):
        outcome = {}
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(self.socket_path)
            server.listen(1)
            server.settimeout(0.1)
            worker = threading.Thread(target=lambda: outcome.update(
                result=self.run_module("instance_restart", args, check_mode=check_mode)))
            worker.start()
            while worker.is_alive():
                try:
                    connection, _peer = server.accept()
                except socket.timeout:
                    continue
                with connection:
                    request = connection.makefile().readline().strip()
                    connection.sendall(self.serve(request).encode())
            worker.join()
        Path(self.socket_path).unlink()
        return outcome["result"]

    def serve(self, request: str) -> str:
        """Restart the unit's process as systemd would: stop it (SIGTERM), run ExecStartPre, start it."""
        self.requests.append(request)
        verb, _space, unit = request.partition(" ")
        if unit in self.refusals:
            return "1 " + self.refusals[unit]
        assert verb == "restart", request
        process = self.topology.processes[unit.split("@", 1)[1].rsplit(".", 1)[0]]
        shard = next(s.name for s in self.topology.shards if process in s.members)
        process.kill(signal.SIGTERM)
        client = self.topology.sentinel_users["client"]
        settings, include = self.directory / "start-role.json", self.directory / f"{process.name}-start-role.conf"
        settings.write_text(json.dumps({"sentinels": self.topology.sentinel_addresses, "sentinel_username": client.username,
                                        "sentinel_password": client.password,
                                        "instances": {shard: process.address_string}}), encoding="utf-8")
        subprocess.run([sys.executable, str(self.helper), shard, str(settings), str(include)], check=True, timeout=30,
                       capture_output=True)
        self.start_roles.append(include.read_text(encoding="utf-8").splitlines()[-1])
        if f"include {include}" not in process.config.read_text(encoding="utf-8"):
            with process.config.open("a", encoding="utf-8") as config:
                config.write(f"\ninclude {include}\n")
        self.topology.restart(process)
        return "0 "


def units_for(topology, tmp_path, run_module, monkeypatch) -> Units:
    units = Units(topology, tmp_path, run_module)
    monkeypatch.setenv("PATH", f"{units.bin_dir}{os.pathsep}{os.environ['PATH']}")
    return units


@pytest.fixture()
def fresh_units(fresh_topology, tmp_path, run_module, monkeypatch) -> Units:
    return units_for(fresh_topology, tmp_path, run_module, monkeypatch)


@pytest.fixture()
def shared_units(shared_topology, tmp_path, run_module, monkeypatch) -> Units:
    return units_for(shared_topology, tmp_path, run_module, monkeypatch)


def role(topology, address) -> list:
    reply = topology.redis_client(address).execute_command("ROLE")
    return [part.decode() if isinstance(part, bytes) else part for part in reply[:4]]


def test_switchover_moves_the_master_and_leaves_a_replica_alone(fresh_units):
    topology = fresh_units.topology
    shard = topology.shard_names[0]
    master = topology.wait_for_master_agreement(shard)
    replica = other_member(topology, shard, master)
    untouched = fresh_units.run(restart_args(topology, shard, replica, action="switchover"))
    assert untouched.rc == 0 and not untouched["changed"], untouched.output
    assert "new_master" not in untouched and untouched["master_before"] == address_text(master)
    moved = fresh_units.run(restart_args(topology, shard, master, action="switchover"))
    assert moved.rc == 0 and moved["changed"], moved.output
    assert moved["master_before"] == address_text(master) and moved["new_master"] == address_text(replica)
    assert moved["failover_s"] > 0 and moved["demoted_s"] >= 0 and not moved["restarted"]
    assert moved["failover_sentinel"] in topology.sentinel_addresses
    assert role(topology, master) == ["slave", replica[0], replica[1], "connected"]
    assert topology.wait_for_master_agreement(shard) == tuple(replica)
    assert fresh_units.requests == []
    assert not any(secret in untouched.output + moved.output for secret in all_secrets(topology))


def test_restart_of_a_replica_then_of_the_master(fresh_units):
    topology = fresh_units.topology
    shard = topology.shard_names[0]
    master = topology.wait_for_master_agreement(shard)
    replica = other_member(topology, shard, master)
    first_pid = topology.process_at(replica).popen.pid

    result = fresh_units.run(restart_args(topology, shard, replica))
    assert result.rc == 0 and result["changed"] and result["restarted"], result.output
    assert "new_master" not in result and result["master_before"] == address_text(master)
    assert result["back_s"] >= result["restart_s"] > 0 and result["total_s"] >= result["back_s"]
    assert topology.process_at(replica).popen.pid != first_pid
    assert role(topology, replica) == ["slave", master[0], master[1], "connected"]

    result = fresh_units.run(restart_args(topology, shard, master))
    assert result.rc == 0 and result["changed"] and result["restarted"], result.output
    assert result["master_before"] == address_text(master) and result["new_master"] == address_text(replica)
    assert result["failover_s"] > 0 and result["back_s"] > 0
    assert fresh_units.requests == [f"restart {unit_of(topology, replica)}", f"restart {unit_of(topology, master)}"]
    # The start helper made both start as replicas of the master of the moment; every Sentinel lists them so.
    assert fresh_units.start_roles == [f"replicaof {master[0]} {master[1]}", f"replicaof {replica[0]} {replica[1]}"]
    assert role(topology, master) == ["slave", replica[0], replica[1], "connected"]
    assert topology.wait_for_master_agreement(shard) == tuple(replica)
    assert not any(secret in result.output for secret in all_secrets(topology))


def test_check_mode_says_what_it_would_do_and_does_nothing(shared_units):
    topology = shared_units.topology
    shard = topology.shard_names[0]
    master = topology.wait_for_master_agreement(shard)
    replica = other_member(topology, shard, master)
    result = shared_units.run(restart_args(topology, shard, master), check_mode=True)
    assert result.rc == 0 and result["changed"], result.output
    assert result["would_fail_over"] and result["would_restart"] and not result["restarted"]
    assert result["master_before"] == address_text(master) and "new_master" not in result
    result = shared_units.run(restart_args(topology, shard, replica, action="switchover"), check_mode=True)
    assert result.rc == 0 and not result["changed"] and not result["would_fail_over"] and not result["would_restart"]
    result = shared_units.run(restart_args(topology, shard, replica), check_mode=True)
    assert result.rc == 0 and result["changed"] and result["would_restart"] and not result["would_fail_over"]
    assert shared_units.requests == []
    assert topology.wait_for_master_agreement(shard) == tuple(master)


def test_check_mode_that_cannot_tell_the_master_says_why_and_does_not_wait(shared_units):
    """As on a host checked before its first converge (no Sentinel yet), or before new passwords are applied."""
    topology = shared_units.topology
    shard = topology.shard_names[0]
    master = topology.wait_for_master_agreement(shard)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    for extra, reason in (({"sentinels": [closed]}, f"{closed}: {closed}: Connection refused"),
                          ({"sentinel_password": "not-applied-yet"}, " refused user sentinel-admin"),
                          ({"password": "not-applied-yet"}, " refused user admin")):
        result = shared_units.run(dict(restart_args(topology, shard, master, action="switchover", timeout=60), **extra),
                                  check_mode=True)
        assert result.rc == 0 and result["changed"] and result["would_fail_over"] is None, result.output
        assert reason in result["master_unknown"] and "master_before" not in result, result["master_unknown"]
    assert shared_units.requests == []


def test_a_sentinel_user_that_may_not_fail_over_is_named(shared_units):
    topology = shared_units.topology
    shard = topology.shard_names[0]
    master = topology.wait_for_master_agreement(shard)
    result = shared_units.run(restart_args(topology, shard, master, sentinel_user="client", action="switchover"))
    assert result.rc != 0 and "it needs the Sentinel admin user" in result["msg"], result.output
    assert result["msg"].startswith(f"{shard} {address_text(master)}: SENTINEL FAILOVER {shard} refused by ")
    assert not result["changed"] and topology.sentinel_users["client"].password not in result.output
    assert topology.wait_for_master_agreement(shard) == tuple(master)


def test_a_unit_that_does_not_restart_is_named(shared_units):
    topology = shared_units.topology
    shard = topology.shard_names[1]
    replica = other_member(topology, shard, topology.wait_for_master_agreement(shard))
    unit = unit_of(topology, replica)
    shared_units.refusals[unit] = f"Failed to restart {unit}: Unit {unit} not found."
    result = shared_units.run(restart_args(topology, shard, replica))
    assert result.rc != 0 and not result["changed"] and not result["restarted"], result.output
    assert result["msg"] == (f"{shard} {address_text(replica)}: systemctl restart {unit}: "
                             f"Failed to restart {unit}: Unit {unit} not found.")


def test_an_unknown_shard_times_out_naming_what_each_sentinel_says(shared_units):
    topology = shared_units.topology
    result = shared_units.run(restart_args(topology, "unknown", topology.shards[0].master.address, timeout=1))
    assert result.rc != 0, result.output
    assert "timed out after 1s waiting for every Sentinel to name the same master of unknown, up" in result["msg"]
    assert "ERR No such master with that name" in result["msg"]


def test_options_are_checked(shared_units):
    topology = shared_units.topology
    address = topology.shards[0].master.address
    result = shared_units.run({k: v for k, v in restart_args(topology, "shard1", address).items() if k != "unit"})
    assert result.rc != 0 and "action is restart but all of the following are missing: unit" in result["msg"]
    result = shared_units.run(dict(restart_args(topology, "shard1", address), address="10.0.0.1"))
    assert result.rc != 0 and result["msg"].startswith("address: '10.0.0.1' is not a \"host:port\" address")


def test_over_tls_in_check_mode(tls_topology, run_module):
    shard = tls_topology.shard_names[0]
    master = tls_topology.wait_for_master_agreement(shard)
    result = run_module("instance_restart", restart_args(tls_topology, shard, master), check_mode=True)
    assert result.rc == 0 and result["would_fail_over"] and result["master_before"] == address_text(master), result.output


def test_demoting_an_old_master_that_sentinel_already_converted_is_not_an_error(fresh_topology):
    """Sentinel may send REPLICAOF to the old master before the module does; Redis then answers
    "OK Already connected to specified master" (seen as a failed restart in the witness scenario)."""
    sentinel, admin = fresh_topology.sentinel_users["admin"], fresh_topology.users["admin"]
    watch = ShardWatch(parse_addresses(fresh_topology.sentinel_addresses), (sentinel.username, sentinel.password),
                       (admin.username, admin.password))
    shard = fresh_topology.shard_names[0]
    master = fresh_topology.wait_for_master_agreement(shard)
    replica = other_member(fresh_topology, shard, master)
    InstanceRestart(watch, shard, address_text(replica), 30).demote(address_text(master))
    assert role(fresh_topology, replica) == ["slave", master[0], master[1], "connected"]


def test_a_refused_login_fails_at_once(shared_units):
    topology = shared_units.topology
    shard = topology.shard_names[0]
    master = topology.wait_for_master_agreement(shard)
    for option in ("sentinel_password", "password"):
        result = shared_units.run(dict(restart_args(topology, shard, master, action="switchover"), **{option: "wrong-password"}))
        assert result.rc != 0 and " refused user " in result["msg"], result.output
        assert "timed out" not in result["msg"] and "wrong-password" not in result.output
    assert topology.wait_for_master_agreement(shard) == tuple(master)

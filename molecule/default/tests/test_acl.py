"""The ACLs of DESIGN.md section 3 hold on every Redis instance and Sentinel."""

import pytest

from expected import HOSTS, address, sentinel_addresses


@pytest.fixture(scope="module")
def members(expected_layout):
    return [address(host, port) for port, master, replica in expected_layout.values() for host in (master, replica)]


def test_anonymous_access_refused(cli, members):
    for member in members + sentinel_addresses():
        assert cli.run(member, "PING").startswith("NOAUTH")


@pytest.mark.parametrize("command", [["CONFIG", "GET", "maxmemory"], ["FLUSHALL"], ["SHUTDOWN", "NOSAVE"], ["ACL", "LIST"], ["DEBUG", "SLEEP", "0"]])
def test_app_user_denied_dangerous_commands(cli, admin, secrets, members, command):
    for member in members:
        dry_run = admin(member, "ACL", "DRYRUN", "app", *command)
        assert "no permissions" in dry_run, (member, command, dry_run)
        reply = cli.run(member, *command, user="app", password=secrets["shardinel_app_password"])
        # DEBUG is also switched off by enable-debug-command, which Redis checks before the ACL.
        assert reply.startswith("NOPERM") or reply.startswith("ERR DEBUG command not allowed"), (member, command, reply)


def test_app_user_reads_and_writes(cli, secrets, expected_layout):
    port, master = expected_layout["shard1"][:2]
    app = {"user": "app", "password": secrets["shardinel_app_password"]}
    assert cli.run(address(master, port), "SET", "molecule:app", "1", **app) == "OK"
    assert cli.run(address(master, port), "GET", "molecule:app", **app) == "1"


def test_replication_user_cannot_read_keys(cli, secrets, members):
    for member in members:
        reply = cli.run(member, "GET", "molecule:app", user="replication", password=secrets["shardinel_replication_password"])
        assert reply.startswith("NOPERM"), (member, reply)


def test_sentinel_client_discovers_but_cannot_change(cli, secrets, expected_layout):
    password = secrets["shardinel_sentinel_client_password"]
    for sentinel in sentinel_addresses():
        port, master = expected_layout["shard1"][:2]
        found = cli.run(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "shard1", user="sentinel-client", password=password)
        assert found.splitlines() == [HOSTS[master], str(port)]
        assert "shard2" in cli.run(sentinel, "SENTINEL", "MASTERS", user="sentinel-client", password=password)
        for command in (["FAILOVER", "shard1"], ["SET", "shard1", "quorum", "1"], ["REMOVE", "shard1"]):
            reply = cli.run(sentinel, "SENTINEL", *command, user="sentinel-client", password=password)
            assert reply.startswith("NOPERM"), (sentinel, command, reply)


def test_app_user_may_run_transactions(admin, expected_layout):
    port, master = expected_layout["shard1"][:2]
    for command in (["MULTI"], ["EXEC"], ["WATCH", "molecule:app"]):
        assert admin(address(master, port), "ACL", "DRYRUN", "app", *command) == "OK", command


def test_sentinel_client_may_subscribe_to_failover_events_only(sentinel_admin):
    channels = {"+switch-master", "+elected-leader", "+failover-state-send-slaveof-noone",
                "-failover-abort-no-good-slave", "-failover-abort-slave-timeout"}
    for sentinel in sentinel_addresses():
        reply = sentinel_admin(sentinel, "ACL", "GETUSER", "sentinel-client").splitlines()
        granted = reply[reply.index("channels") + 1].split()
        assert {channel.lstrip("&") for channel in granted} == channels, (sentinel, granted)

"""The ACLs of DESIGN.md section 3 hold on every Redis instance and Sentinel."""

import shlex

import pytest

from expected import CLI, CLI_TLS_ARGS, FIRST, HOSTS, address, sentinel_addresses


@pytest.fixture(scope="module")
def members(expected_layout):
    return [address(host, port) for port, master, replica in expected_layout.values() for host in (master, replica)]


def test_anonymous_access_refused(cli, members):
    for member in members + sentinel_addresses():
        assert cli.run(member, "PING").startswith("NOAUTH")


# Issue 12's list on every engine, plus the fan-out commands that need an admin user (KEYS, INFO, FLUSHDB).
DENIED = [["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "SET", "maxmemory", "1"], ["CONFIG", "GET", "maxmemory"], ["DEBUG", "SLEEP", "0"],
          ["SHUTDOWN", "NOSAVE"], ["ACL", "SETUSER", "intruder", "on"], ["ACL", "LIST"], ["REPLICAOF", "NO", "ONE"],
          ["MODULE", "LOAD", "/nonexistent.so"], ["KEYS", "*"],
          ["INFO"], ["FUNCTION", "FLUSH"], ["SWAPDB", "0", "1"], ["SORT", "molecule:list", "BY", "nosort"]]
# Everything the shardinel client and its Django layer send as the app user; MIGRATE and the RESTORE it sends to the
# target pull a moving key from its previous owner while a reshard runs.
ALLOWED = [["SET", "k", "v"], ["GET", "k"], ["HSET", "h", "f", "v"], ["XADD", "s", "*", "f", "v"], ["EVAL", "return 1", "0"],
           ["EVALSHA", "0" * 40, "0"], ["FCALL", "f", "0"], ["FUNCTION", "LOAD", "#!lua name=l"], ["PUBLISH", "c", "m"],
           ["SUBSCRIBE", "c"], ["MULTI"], ["EXEC"], ["WATCH", "k"], ["WAIT", "1", "0"], ["DBSIZE"], ["RANDOMKEY"], ["SCAN", "0"],
           ["PING"], ["COMMAND"], ["COMMAND", "GETKEYS", "GET", "k"], ["UNLINK", "k"], ["EXPIRE", "k", "1"], ["MGET", "a", "b"],
           ["MIGRATE", "127.0.0.1", "1", "", "0", "1000", "COPY", "KEYS", "k"], ["RESTORE", "k", "0", "payload"]]


@pytest.mark.parametrize("command", DENIED)
def test_app_user_denied_dangerous_commands(cli, admin, secrets, members, command):
    for member in members:
        dry_run = admin(member, "ACL", "DRYRUN", "app", *command)
        assert "no permissions" in dry_run, (member, command, dry_run)
        reply = cli.run(member, *command, user="app", password=secrets["shardinel_app_password"])
        # DEBUG and MODULE are also switched off (enable-debug-command, enable-module-command), checked before the ACL.
        assert reply.startswith("NOPERM") or reply.startswith(f"ERR {command[0]} command not allowed"), (member, command, reply)


@pytest.mark.parametrize("command", ALLOWED)
def test_app_user_may_run_what_the_client_sends(admin, expected_layout, command):
    port, master = expected_layout["shard1"][:2]
    assert admin(address(master, port), "ACL", "DRYRUN", "app", *command) == "OK", command


def test_app_user_reads_and_writes(cli, secrets, expected_layout):
    port, master = expected_layout["shard1"][:2]
    app = {"user": "app", "password": secrets["shardinel_app_password"]}
    assert cli.run(address(master, port), "SET", "molecule:app", "1", **app) == "OK"
    assert cli.run(address(master, port), "GET", "molecule:app", **app) == "1"


def test_app_user_moves_a_key_to_another_master_with_migrate(hosts, cli, admin, secrets, expected_layout):
    """What the client does with a moving key: MIGRATE ... AUTH2 app on its previous owner, which sends RESTORE to the new
    owner as the app user (over TLS where the scenario turns it on: tls-cluster)."""
    password = secrets["shardinel_app_password"]
    source, target = (address(master, port) for port, master, _replica in (expected_layout["shard1"], expected_layout["shard2"]))
    key = "molecule:migrated"
    assert cli.run(source, "SET", key, "moved", user="app", password=password) == "OK"
    source_ip, source_port = source.rsplit(":", 1)
    target_ip, target_port = target.rsplit(":", 1)
    # -x: the AUTH2 password, the last argument, comes from standard input rather than the command line.
    command = [CLI, *CLI_TLS_ARGS, "--no-auth-warning", "--user", "app", "-h", source_ip, "-p", source_port, "-x",
               "MIGRATE", target_ip, target_port, key, "0", "5000", "AUTH2", "app"]
    moved = hosts[FIRST].run(f"printf %s {shlex.quote(password)} | REDISCLI_AUTH={shlex.quote(password)} {shlex.join(command)}")
    assert moved.stdout.strip() == "OK", moved.stdout + moved.stderr
    assert cli.run(target, "GET", key, user="app", password=password) == "moved"
    assert cli.run(source, "EXISTS", key, user="app", password=password) == "0"
    assert cli.run(target, "DEL", key, user="app", password=password) == "1"
    # The source keeps its MIGRATE connection for 10 s, from the address the kernel picks (bind-source-addr covers
    # replication only): closed here, so that test_failure_settings.py finds only the links it checks.
    assert int(admin(target, "CLIENT", "KILL", "USER", "app")) >= 1


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
        for command in (["FAILOVER", "shard1"], ["SET", "shard1", "quorum", "1"], ["RESET", "shard1"], ["REMOVE", "shard1"]):
            reply = cli.run(sentinel, "SENTINEL", *command, user="sentinel-client", password=password)
            assert reply.startswith("NOPERM"), (sentinel, command, reply)


def test_sentinel_client_may_subscribe_to_failover_events_only(sentinel_admin):
    channels = {"+switch-master", "+elected-leader", "+failover-state-send-slaveof-noone",
                "-failover-abort-no-good-slave", "-failover-abort-slave-timeout"}
    for sentinel in sentinel_addresses():
        reply = sentinel_admin(sentinel, "ACL", "GETUSER", "sentinel-client").splitlines()
        granted = reply[reply.index("channels") + 1].split()
        assert {channel.lstrip("&") for channel in granted} == channels, (sentinel, granted)

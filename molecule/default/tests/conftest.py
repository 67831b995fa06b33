"""Fixtures for the testinfra verifier: the expected layout and a command-line tool runner on the test hosts."""

import shlex

import pytest
import testinfra
import yaml

from expected import BOOTSTRAP, CLI, CLI_TLS_ARGS, FAILOVER_MARKER, FIRST, HOSTS, SCENARIO


def _test_host(name):
    # podman exec is much faster than an ansible round trip per command.
    return testinfra.get_host(f"podman://{name}")


def pytest_collection_modifyitems(items):
    """test_scale.py grows the shard set that the other tests expect: it runs after them."""
    items.sort(key=lambda item: item.path.name == "test_scale.py")


@pytest.fixture(scope="session")
def secrets():
    return yaml.safe_load((SCENARIO / "group_vars" / "all" / "test-secrets.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def hosts():
    return {name: _test_host(name) for name in HOSTS}


@pytest.fixture(scope="session")
def expected_layout(hosts):
    """{shard: (port, master host, replica host)}: the bootstrap placement, except for the
    shard the side effect failed over, whose master is the host its marker names."""
    marker = hosts[FIRST].file(FAILOVER_MARKER)
    failed_over = marker.content_string.split() if marker.exists else []
    layout = dict(BOOTSTRAP)
    if failed_over:
        shard, new_master = failed_over
        port, master, replica = BOOTSTRAP[shard]
        layout[shard] = (port, new_master, master if new_master == replica else replica)
    return layout


class Cli:
    """Runs the engine's command-line tool on a test host, the password in REDISCLI_AUTH rather than on its command line."""

    def __init__(self, host):
        self.host = host

    def run(self, address, *args, user=None, password=None, raw=True):
        ip, port = address.rsplit(":", 1)
        command = [CLI, *CLI_TLS_ARGS, "--no-auth-warning", "-h", ip, "-p", port]
        if user:
            command += ["--user", user]
        command += [str(arg) for arg in args]
        env = f"REDISCLI_AUTH={shlex.quote(password)} " if password else ""
        result = self.host.run(env + shlex.join(command))
        assert result.rc == 0, result.stderr
        return result.stdout.strip()


@pytest.fixture(scope="session")
def cli(hosts):
    return Cli(hosts[FIRST])


@pytest.fixture(scope="session")
def admin(cli, secrets):
    def run(address, *args):
        return cli.run(address, *args, user="admin", password=secrets["shardinel_admin_password"])
    return run


@pytest.fixture(scope="session")
def sentinel_admin(cli, secrets):
    def run(address, *args):
        return cli.run(address, *args, user="sentinel-admin", password=secrets["shardinel_sentinel_admin_password"])
    return run

"""Secret-bearing files are owned by the service user and not world-readable; ACL files hold only password hashes."""

import re

import pytest

from expected import BOOTSTRAP, CONFIG_DIR, DATA_DIR, HOSTS, SENTINEL_PORTS, SERVICE_USER

HASHED_USER = re.compile(r"^user \S+ (on|off)( nopass| #[0-9a-f]{64})?( |$)")


def _assert_private(file):
    assert file.exists
    assert file.user == SERVICE_USER
    assert file.mode & 0o7027 == 0, f"{file.path} mode {oct(file.mode)}"


@pytest.mark.parametrize("host_name", HOSTS)
def test_config_files_private(hosts, host_name):
    host = hosts[host_name]
    directory = host.file(CONFIG_DIR)
    assert directory.is_directory and directory.user == SERVICE_USER and directory.mode == 0o750
    for shard in BOOTSTRAP:
        for suffix in (".conf", ".static.conf", ".acl"):
            _assert_private(host.file(f"{CONFIG_DIR}/{shard}{suffix}"))
        _assert_private(host.file(f"{DATA_DIR}/{shard}"))
    for port in SENTINEL_PORTS:
        _assert_private(host.file(f"{CONFIG_DIR}/sentinel-{port}.conf"))


@pytest.mark.parametrize("host_name", HOSTS)
def test_acl_users_hold_hashes_only(hosts, host_name, secrets):
    host = hosts[host_name]
    passwords = [value for key, value in secrets.items() if key.endswith("_password")]
    files = [f"{CONFIG_DIR}/{shard}.acl" for shard in BOOTSTRAP] + [f"{CONFIG_DIR}/sentinel-{port}.conf" for port in SENTINEL_PORTS]
    for path in files:
        user_lines = [line for line in host.file(path).content_string.splitlines() if line.startswith("user ")]
        assert len(user_lines) >= 3, path
        for line in user_lines:
            assert HASHED_USER.match(line), (path, line.split(" #")[0])
            assert not any(password in line for password in passwords), path
        if path.endswith(".acl"):
            text = host.file(path).content_string
            assert not any(password in text for password in passwords), path

"""The shared connection options: spec, validation and secret scrubbing (no servers needed)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    connection_argument_spec,
    redis_kwargs,
    scrub,
    secrets_of,
    validate_connection_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address


def params(**overrides: Any) -> dict[str, Any]:
    values = {name: spec.get("default") for name, spec in connection_argument_spec().items()}
    values.update(sentinels=["127.0.0.1:26379"])
    values.update(overrides)
    return values


def test_passwords_are_no_log_and_names_are_fixed() -> None:
    spec = connection_argument_spec()
    assert {"sentinels", "sentinel_username", "sentinel_password", "username", "password"} <= set(spec)
    assert spec["password"]["no_log"] and spec["sentinel_password"]["no_log"]
    assert spec["sentinels"] == {"type": "list", "elements": "str", "required": True}


def test_doc_fragments_document_exactly_the_spec() -> None:
    import yaml  # pylint: disable=import-outside-toplevel

    from ansible_collections.shardinel.redis.plugins.doc_fragments import connection, sentinels, tls

    documented = {**yaml.safe_load(sentinels.ModuleDocFragment.DOCUMENTATION)["options"],
                  **yaml.safe_load(connection.ModuleDocFragment.DOCUMENTATION)["options"],
                  **yaml.safe_load(tls.ModuleDocFragment.DOCUMENTATION)["options"]}
    spec = connection_argument_spec()
    assert set(documented) == set(spec)
    for name, option in documented.items():
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:26379", ("127.0.0.1", 26379)),
    ("redis1.example:6379", ("redis1.example", 6379)),
    ("[::1]:26380", ("::1", 26380)),
])
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected
    assert format_address(expected) == text


@pytest.mark.parametrize("bad", ["127.0.0.1", "host:0", "host:70000", ":26379", "host:port", "::1:26379", "[::1]26379"])
def test_bad_sentinel_address_names_the_option(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^sentinels: .* is not a \"host:port\" address"):
        validate_connection_params(params(sentinels=[bad]))


@pytest.mark.parametrize("overrides, message", [
    ({"sentinels": []}, "sentinels: at least one"),
    ({"socket_timeout": 0.0}, "socket_timeout: must be a positive"),
    ({"connect_timeout": -1.0}, "connect_timeout: must be a positive"),
    ({"username": "admin"}, "username is set but password is empty"),
    ({"sentinel_username": "sentinel-client"}, "sentinel_username is set but sentinel_password is empty"),
    ({"tls_ca_file": "/etc/ca.pem"}, "tls_ca_file is set but tls is false"),
    ({"tls": True, "tls_cert_file": "/etc/cert.pem"}, "tls_cert_file and tls_key_file must be given together"),
])
def test_validation_names_the_option(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_connection_params(params(**overrides))


def test_duplicate_addresses_are_dropped() -> None:
    assert validate_connection_params(params(sentinels=["127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:2"])) == [
        ("127.0.0.1", 1), ("127.0.0.1", 2)]


def test_tls_options_reach_redis_py() -> None:
    kwargs = redis_kwargs(params(tls=True, tls_ca_file="/ca.pem", tls_verify=False))
    assert kwargs["ssl"] is True and kwargs["ssl_ca_certs"] == "/ca.pem" and kwargs["ssl_cert_reqs"] == "none"
    assert "ssl" not in redis_kwargs(params())


def test_scrub_removes_every_password() -> None:
    values = params(password="pw-redis", sentinel_password="pw-sentinel", sentinel_admin_password="pw-admin")
    assert scrub("x pw-redis y pw-sentinel z pw-admin", secrets_of(values)) == "x ******** y ******** z ********"


def test_sentinel_admin_fragment_documents_exactly_its_spec() -> None:
    import yaml  # pylint: disable=import-outside-toplevel

    from ansible_collections.shardinel.redis.plugins.doc_fragments.sentinel_admin import ModuleDocFragment
    from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import sentinel_admin_argument_spec

    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = sentinel_admin_argument_spec()
    assert set(documented) == set(spec)
    assert spec["sentinel_admin_password"]["no_log"] is True

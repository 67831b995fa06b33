"""Bad settings are refused with ImproperlyConfigured naming the setting, before any connection; wrong passwords
and unreachable Sentinels give clear errors at first use."""

from __future__ import annotations

import logging
import socket

import pytest
import redis
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from shardinel import NoSentinelAvailableError
from shardinel_django.connections import CredentialsRejectedError
from shardinel_django.options import parse_client_settings
from shardinel_django.sessions import SessionStore
from shardinel_test_site import TEST_PASSWORD, TEST_USERNAME

DJANGO_REDIS = {"BACKEND": "django_redis.cache.RedisCache",
                "OPTIONS": {"CLIENT_CLASS": "shardinel_django.django_redis.ShardedSentinelClient"}}


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


BAD_CACHE_SETTINGS = [
    ({"LOCATION": ""}, r"CACHES\['bad'\]\['LOCATION'\] is empty"),
    ({"LOCATION": []}, r"CACHES\['bad'\]\['LOCATION'\] is empty"),
    ({"LOCATION": " , "}, r"CACHES\['bad'\]\['LOCATION'\] is empty"),
    ({"LOCATION": ["127.0.0.1"]}, r"CACHES\['bad'\]\['LOCATION'\]: '127.0.0.1' is not a \"host:port\" address: no port"),
    ({"LOCATION": "127.0.0.1:26379,127.0.0.1:sentinel"}, r"CACHES\['bad'\]\['LOCATION'\]: '127.0.0.1:sentinel' .*not a number"),
    ({"LOCATION": ["::1:26379"]}, r"CACHES\['bad'\]\['LOCATION'\]: .*\[address\]:port"),
    ({"LOCATION": ["127.0.0.1:70000"]}, r"CACHES\['bad'\]\['LOCATION'\]: .*outside 1-65535"),
    ({"OPTIONS": {"SOCKET_TIMEOUT": 0}}, r"CACHES\['bad'\]\['OPTIONS'\]\['SOCKET_TIMEOUT'\] must be a positive number"),
    ({"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": -1}}, r"\['SOCKET_CONNECT_TIMEOUT'\] must be a positive number"),
    ({"OPTIONS": {"FAILOVER_TIMEOUT": 0}}, r"\['FAILOVER_TIMEOUT'\] must be a positive number"),
    ({"OPTIONS": {"DURABLE_TIMEOUT": "1"}}, r"\['DURABLE_TIMEOUT'\] must be a positive number"),
    ({"TIMEOUT": -1}, r"CACHES\['bad'\]\['TIMEOUT'\] must be None"),
    ({"OPTIONS": {"SERIALIZER": "yaml"}}, r"CACHES\['bad'\]\['OPTIONS'\]\['SERIALIZER'\]: unknown serializer 'yaml'"),
    ({"OPTIONS": {"SERIALIZER": "no.such.Serializer"}}, r"\['SERIALIZER'\]: cannot import"),
    ({"OPTIONS": {"SOCKET_TIMOUT": 1}}, r"CACHES\['bad'\]\['OPTIONS'\]\['SOCKET_TIMOUT'\]: unknown option"),
    ({"OPTIONS": {"DB": -1}}, r"\['DB'\] must be a database number"),
    ({"OPTIONS": {"DURABLE_WRITES": -1}}, r"\['DURABLE_WRITES'\] must be a whole number"),
    ({"OPTIONS": {"READ_FROM_REPLICAS": "yes"}}, r"\['READ_FROM_REPLICAS'\] must be True or False"),
    ({"OPTIONS": {"SERVICE_NAMES": []}}, r"\['SERVICE_NAMES'\] must be a non-empty list"),
    ({"OPTIONS": {"PASSWORD": 1234}}, r"\['PASSWORD'\] must be a string"),
    ({"OPTIONS": {"SSL_CERT_REQUIRED": True}}, r"\['SSL_CERT_REQUIRED'\]: redis-py has no TLS setting"),
    ({"OPTIONS": {"CLIENT_KWARGS": {"host": "x"}}}, r"\['CLIENT_KWARGS'\]\['host'\] cannot be set"),
    ({"OPTIONS": {"CLIENT_KWARGS": {"decode_responses": True}}}, r"\['CLIENT_KWARGS'\]\['decode_responses'\] cannot be set"),
    ({"OPTIONS": {"IGNORE_EXCEPTIONS": "true"}}, r"\['IGNORE_EXCEPTIONS'\] must be True or False"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_CACHE_SETTINGS)
def test_bad_cache_settings_are_refused_naming_the_setting(entry, message):
    options = {"SOCKET_TIMEOUT": 1, **entry.pop("OPTIONS", {})}
    cache = {"BACKEND": "shardinel_django.cache.ShardedSentinelCache", "LOCATION": f"127.0.0.1:{closed_port()}",
             "OPTIONS": options, **entry}
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "bad": cache}):
        with pytest.raises(ImproperlyConfigured, match=message):
            caches.create_connection("bad")


def test_tls_options_go_to_redis_and_sentinel_connections():
    options = {"SSL": True, "SSL_CERT_REQS": "required", "SSL_CA_CERTS": "/etc/ssl/ca.pem", "SENTINEL_SSL": True}
    parsed = parse_client_settings(["127.0.0.1:26379"], "LOCATION", options, "OPTIONS")
    kwargs = parsed.client_kwargs()
    assert (kwargs["ssl"], kwargs["ssl_cert_reqs"], kwargs["ssl_ca_certs"]) == (True, "required", "/etc/ssl/ca.pem")
    assert kwargs["sentinel_kwargs"] == {"ssl": True}


BAD_SESSION_SETTINGS = [
    ({"SESSION_REDIS_SENTINEL_URLS": None}, r"SESSION_REDIS_SENTINEL_URLS is empty"),
    ({"SESSION_REDIS_SENTINEL_URLS": []}, r"SESSION_REDIS_SENTINEL_URLS is empty"),
    ({"SESSION_REDIS_SENTINEL_URLS": ["sentinel-without-port"]}, r"SESSION_REDIS_SENTINEL_URLS: 'sentinel-without-port'"),
    ({"SESSION_REDIS_DB": "6"}, r"SESSION_REDIS_DB must be a database number"),
    ({"SESSION_REDIS_PREFIX": 5}, r"SESSION_REDIS_PREFIX must be a string"),
    ({"SHARDINEL_SESSION_PASSWORD": 5}, r"SHARDINEL_SESSION_PASSWORD must be a string"),
    ({"SHARDINEL_SESSION_OPTIONS": {"SOCKET_TIMEOUT": 0}}, r"SHARDINEL_SESSION_OPTIONS\['SOCKET_TIMEOUT'\] must be a positive"),
    ({"SHARDINEL_SESSION_OPTIONS": {"SERIALIZER": "json"}}, r"SHARDINEL_SESSION_OPTIONS\['SERIALIZER'\]: unknown option"),
    ({"SHARDINEL_SESSION_OPTIONS": ["x"]}, r"SHARDINEL_SESSION_OPTIONS must be a dict"),
]


@pytest.mark.parametrize(("values", "message"), BAD_SESSION_SETTINGS)
def test_bad_session_settings_are_refused_naming_the_setting(values, message):
    base = {"SESSION_REDIS_SENTINEL_URLS": [f"127.0.0.1:{closed_port()}"]}
    with override_settings(**{**base, **values}):
        with pytest.raises(ImproperlyConfigured, match=message):
            SessionStore()


BAD_DJANGO_REDIS_SETTINGS = [
    ({"LOCATION": ""}, r"CACHES\['dr'\]\['LOCATION'\] is empty"),
    ({"LOCATION": "redis://127.0.0.1:6379/0"}, r"CACHES\['dr'\]\['LOCATION'\]: 'redis://127.0.0.1:6379/0' is a URL"),
    ({"OPTIONS": {"SERIALIZER": "nope"}}, r"CACHES\['dr'\]\['OPTIONS'\]\['SERIALIZER'\]: unknown serializer 'nope'"),
    ({"OPTIONS": {"SENTINELS": [("127.0.0.1", 26379)]}}, r"\['SENTINELS'\] does not apply.*LOCATION"),
    ({"OPTIONS": {"SOCKET_TIMEOUT": 0}}, r"CACHES\['dr'\]\['OPTIONS'\]\['SOCKET_TIMEOUT'\] must be a positive"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_DJANGO_REDIS_SETTINGS)
def test_bad_django_redis_settings_are_refused_naming_the_setting(entry, message):
    options = {**DJANGO_REDIS["OPTIONS"], **entry.pop("OPTIONS", {})}
    cache = {**DJANGO_REDIS, "LOCATION": f"127.0.0.1:{closed_port()}", "OPTIONS": options, **entry}
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "dr": cache}):
        with pytest.raises(ImproperlyConfigured, match=message):
            caches["dr"].get("k")


def test_unreachable_sentinels_fail_at_first_use_naming_them(make_cache, caplog):
    port = closed_port()
    cache = make_cache(LOCATION=[f"127.0.0.1:{port}"])
    with pytest.raises(NoSentinelAvailableError, match=rf"no Sentinel reachable at 127.0.0.1:{port}"):
        cache.get("k")
    quiet = make_cache(alias="quiet", LOCATION=[f"127.0.0.1:{port}"], OPTIONS={"IGNORE_EXCEPTIONS": True})
    with caplog.at_level(logging.WARNING, logger="shardinel_django"):
        assert quiet.get("k", "fallback") == "fallback"
        assert quiet.get_many(["a", "b"]) == {}
        assert quiet.set_many({"a": 1}) == ["a"]
        assert quiet.add("k", 1) is False
    assert "IGNORE_EXCEPTIONS" in caplog.text and f"127.0.0.1:{port}" in caplog.text


def test_unreachable_sentinels_for_sessions_and_django_redis(make_cache, django_db):
    del django_db
    port = closed_port()
    with override_settings(SESSION_REDIS_SENTINEL_URLS=[f"127.0.0.1:{port}"]):
        with pytest.raises(NoSentinelAvailableError, match=rf"127.0.0.1:{port}"):
            Client().get("/visit/")
    cache = make_cache(alias="dr", LOCATION=[f"127.0.0.1:{port}"], **DJANGO_REDIS)
    with pytest.raises(NoSentinelAvailableError, match=rf"127.0.0.1:{port}"):
        cache.get("k")
    quiet = make_cache(alias="dr-quiet", LOCATION=[f"127.0.0.1:{port}"], BACKEND=DJANGO_REDIS["BACKEND"],
                       OPTIONS={**DJANGO_REDIS["OPTIONS"], "IGNORE_EXCEPTIONS": True})
    assert quiet.get("k", "fallback") == "fallback"


def test_wrong_redis_password(make_cache, sessions_on):
    cache = make_cache(OPTIONS={"PASSWORD": "wrong", "IGNORE_EXCEPTIONS": True})
    with pytest.raises(CredentialsRejectedError, match=r"Redis rejected the credentials CACHES\['shardinel'\]\['OPTIONS'\]"
                                                       r"\['USERNAME'\]='app' and CACHES\['shardinel'\]\['OPTIONS'\]\['PASSWORD'\]"):
        cache.get("k")
    assert isinstance(CredentialsRejectedError("x"), redis.AuthenticationError)
    with override_settings(SHARDINEL_SESSION_PASSWORD="wrong"):
        with pytest.raises(CredentialsRejectedError, match="SHARDINEL_SESSION_USERNAME='app' and SHARDINEL_SESSION_PASSWORD"):
            Client().post("/login/", {"username": TEST_USERNAME, "password": TEST_PASSWORD})
    dr_cache = make_cache(alias="dr", **{**DJANGO_REDIS, "OPTIONS": {**DJANGO_REDIS["OPTIONS"], "PASSWORD": "wrong"}})
    with pytest.raises(redis.AuthenticationError, match="invalid username-password pair"):
        dr_cache.get("k")
    del sessions_on


def test_wrong_sentinel_password(make_cache, sessions_on):
    cache = make_cache(OPTIONS={"SENTINEL_PASSWORD": "wrong", "IGNORE_EXCEPTIONS": True})
    with pytest.raises(CredentialsRejectedError, match=r"the Sentinels at 127.0.0.1:\d+, .* rejected the Sentinel credentials "
                                                       r"CACHES\['shardinel'\]\['OPTIONS'\]\['SENTINEL_USERNAME'\]="
                                                       r"'sentinel-client' and .*\['SENTINEL_PASSWORD'\]"):
        cache.get("k")
    with override_settings(SHARDINEL_SESSION_SENTINEL_PASSWORD="wrong"):
        with pytest.raises(CredentialsRejectedError, match="SHARDINEL_SESSION_SENTINEL_USERNAME='sentinel-client' and "
                                                           "SHARDINEL_SESSION_SENTINEL_PASSWORD"):
            Client().get("/visit/")
    dr_cache = make_cache(alias="dr", **{**DJANGO_REDIS, "OPTIONS": {**DJANGO_REDIS["OPTIONS"], "SENTINEL_PASSWORD": "x"}})
    with pytest.raises(CredentialsRejectedError, match=r"CACHES\['dr'\]\['OPTIONS'\]\['SENTINEL_USERNAME'\]"):
        dr_cache.get("k")
    del sessions_on

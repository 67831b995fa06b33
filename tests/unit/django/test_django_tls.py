"""ShardedSentinelCache on TLS-only Redis and Sentinel processes: SSL_* reach Redis, and the Sentinels by default."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from shardinel_django.connections import close_all
from shardinel_django.options import parse_client_settings
from shardinel_test_config import cache_entry


def test_cache_over_tls_with_the_redis_ssl_settings_only(tls_topology):
    ssl = tls_topology.tls_client_kwargs()
    options = {"SSL": True, "SSL_CA_CERTS": ssl["ssl_ca_certs"], "SSL_CERT_REQS": "required", "SSL_CHECK_HOSTNAME": True}
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                                   "tls": cache_entry(tls_topology, OPTIONS=options)}):
        try:
            cache = caches["tls"]
            values = {f"k{i}": {"n": i} for i in range(30)}
            cache.set_many(values, timeout=60)
            assert cache.get_many(list(values)) == values
            assert {cache.client.shard_for(cache.make_key(key)) for key in values} == set(tls_topology.shard_names)
            assert cache.add("k-counter", 1) is True
            assert cache.incr("k-counter") == 2 and cache.get("k-counter") == 2
            # no SENTINEL_SSL_*: the Sentinel connections, the event subscription too, took the SSL_* settings
            assert cache.client.wait_for_switch_listener(5)
            assert cache.client.subscribed_sentinels == sorted(tls_topology.sentinel_addresses)
            cache.clear()
            assert cache.get_many(list(values)) == {}
        finally:
            close_all()


@pytest.mark.parametrize(("options", "message"), [
    ({"SSL_CA_CERTS": "/ca.pem"}, r"OPTIONS\['SSL'\] is not True, so ssl_ca_certs would be ignored"),
    ({"SSL": True, "SENTINEL_SSL": False, "SENTINEL_SSL_CA_CERTS": "/ca.pem"},
     r"OPTIONS\['SENTINEL_SSL'\] is not True, so ssl_ca_certs would be ignored"),
])
def test_ssl_settings_with_ssl_off_are_refused(options, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_client_settings(["127.0.0.1:26379"], "LOCATION", options, "OPTIONS")

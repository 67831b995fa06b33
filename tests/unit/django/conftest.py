"""Django configured for the shardinel_django tests, and fixtures that point it at a real topology.

Django is configured once per pytest process (settings.configure) with an in-memory sqlite database
for django.contrib.auth; the other suites in the same run do not use Django. Each test points the
cache, the session engine or django-redis at ``shared_topology`` (unique key prefixes, nothing
destructive) or at its own topology with ``override_settings``; the shared clients are closed
before their topology stops.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import django
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings

from redis_topology import RedisTopology
from shardinel_django.connections import close_all
from shardinel_test_config import cache_entry, session_settings
from shardinel_test_site import SETTINGS, TEST_PASSWORD, TEST_USERNAME


def pytest_configure(config: pytest.Config) -> None:
    del config
    if not settings.configured:
        settings.configure(**SETTINGS)
        django.setup()


@pytest.fixture(scope="session")
def django_db() -> None:
    """The auth tables in the in-memory database, and one user (TEST_USERNAME / TEST_PASSWORD)."""
    call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    if not user_model.objects.filter(username=TEST_USERNAME).exists():
        user_model.objects.create_user(TEST_USERNAME, password=TEST_PASSWORD)


@pytest.fixture(scope="session")
def django_topology(shared_topology: RedisTopology) -> Iterator[RedisTopology]:
    """shared_topology; the clients built for it are closed before it stops."""
    try:
        yield shared_topology
    finally:
        close_all()


@pytest.fixture()
def make_cache(django_topology: RedisTopology) -> Iterator[Callable[..., Any]]:
    """make_cache(**entry overrides) -> a ShardedSentinelCache on the shared topology with its own KEY_PREFIX."""
    overrides: list[Any] = []

    def make(alias: str = "shardinel", topology: RedisTopology = django_topology, **entry: Any) -> Any:
        caches_setting = dict(settings.CACHES)
        caches_setting[alias] = cache_entry(topology, **entry)
        override = override_settings(CACHES=caches_setting)
        override.enable()
        overrides.append(override)
        return caches[alias]

    try:
        yield make
    finally:
        for override in reversed(overrides):
            override.disable()


@pytest.fixture()
def sessions_on(django_topology: RedisTopology, django_db: None) -> Iterator[dict[str, Any]]:
    """The session engine pointed at the shared topology with a unique SESSION_REDIS_PREFIX; yields those settings."""
    values = session_settings(django_topology)
    with override_settings(**values):
        yield values

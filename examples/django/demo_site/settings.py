"""Settings of the demo site: cache, sessions and django-redis on the `make demo` topology.

`make demo` runs two hosts, server1 (127.0.1.1) and server2 (127.0.2.1), each with two Sentinels on
26379 and 26380 and one master and one replica of shard1 (port 6379) and shard2 (port 6380). The
application logs in to Redis as the ACL user "app" and to the Sentinels as "sentinel-client"; their
demo passwords are read from inventory/demo/group_vars/all/demo-secrets.yml unless the environment
gives others. Point the site elsewhere with SHARDINEL_SENTINELS and the SHARDINEL_* variables below.
"""

import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_SECRETS = HERE.parent.parent.parent / "inventory" / "demo" / "group_vars" / "all" / "demo-secrets.yml"


def demo_secret(name: str) -> str:
    """A shardinel_*_password from the demo inventory (demo-only values for the throw-away local hosts)."""
    match = re.search(rf"^{name}:\s*(\S+)\s*$", DEMO_SECRETS.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{name} not found in {DEMO_SECRETS}; set it in the environment")
    return match.group(1)


SENTINELS = os.environ.get("SHARDINEL_SENTINELS", "127.0.1.1:26379,127.0.1.1:26380,127.0.2.1:26379,127.0.2.1:26380")
APP_USERNAME = os.environ.get("SHARDINEL_APP_USERNAME", "app")
APP_PASSWORD = os.environ.get("SHARDINEL_APP_PASSWORD") or demo_secret("shardinel_app_password")
SENTINEL_USERNAME = os.environ.get("SHARDINEL_SENTINEL_CLIENT_USERNAME", "sentinel-client")
SENTINEL_PASSWORD = os.environ.get("SHARDINEL_SENTINEL_CLIENT_PASSWORD") or demo_secret("shardinel_sentinel_client_password")

CREDENTIALS = {
    "USERNAME": APP_USERNAME, "PASSWORD": APP_PASSWORD,
    "SENTINEL_USERNAME": SENTINEL_USERNAME, "SENTINEL_PASSWORD": SENTINEL_PASSWORD,
}

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS: list = []
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
ROOT_URLCONF = "demo_site.urls"
DATABASES: dict = {}
USE_TZ = True

CACHES = {
    # Django's cache API on every shard the Sentinels monitor.
    "default": {
        "BACKEND": "shardinel_django.cache.ShardedSentinelCache",
        "LOCATION": SENTINELS,
        "KEY_PREFIX": "demo",
        "TIMEOUT": 300,
        "OPTIONS": {**CREDENTIALS, "SOCKET_TIMEOUT": 2, "SOCKET_CONNECT_TIMEOUT": 2, "FAILOVER_TIMEOUT": 10,
                    "IGNORE_EXCEPTIONS": False},
    },
    # The same servers through django-redis, for code that uses its extra API (ttl, lock, delete_pattern...).
    "djredis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": SENTINELS,
        "KEY_PREFIX": "demo-dr",
        "OPTIONS": {**CREDENTIALS, "CLIENT_CLASS": "shardinel_django.django_redis.ShardedSentinelClient",
                    "SOCKET_TIMEOUT": 2},
    },
}

# disredis's setting names; only SESSION_ENGINE differs from a disredis site.
SESSION_ENGINE = "shardinel_django.sessions"
SESSION_REDIS_SENTINEL_URLS = SENTINELS.split(",")
SESSION_REDIS_PREFIX = "demo-sessions"
SESSION_REDIS_DB = 0
SESSION_COOKIE_AGE = 2592000
SHARDINEL_SESSION_USERNAME = APP_USERNAME
SHARDINEL_SESSION_PASSWORD = APP_PASSWORD
SHARDINEL_SESSION_SENTINEL_USERNAME = SENTINEL_USERNAME
SHARDINEL_SESSION_SENTINEL_PASSWORD = SENTINEL_PASSWORD
SHARDINEL_SESSION_OPTIONS = {"SOCKET_TIMEOUT": 2}

"""Django integration for the shardinel client: cache backend, session engine and a django-redis client class.

- ``shardinel_django.cache.ShardedSentinelCache``: a ``CACHES`` backend;
- ``shardinel_django.sessions``: a ``SESSION_ENGINE`` (disredis setting names);
- ``shardinel_django.django_redis.ShardedSentinelClient``: a django-redis ``CLIENT_CLASS``.

Importing this package does not import Django; its submodules do.
"""

__version__ = "0.3.0"

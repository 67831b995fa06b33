"""One page: a visit counter in the session, a hit counter in the cache, a lock from django-redis."""

from django.core.cache import caches
from django.http import HttpRequest, JsonResponse


def home(request: HttpRequest) -> JsonResponse:
    cache, djredis = caches["default"], caches["djredis"]
    request.session["visits"] = request.session.get("visits", 0) + 1
    cache.add("hits", 0, timeout=None)
    hits = cache.incr("hits")
    with djredis.lock("home-lock", timeout=5):
        djredis.set("last-visit", request.session["visits"], timeout=60)
    if request.session.session_key is None:
        request.session.save()
    client = cache.client
    return JsonResponse({
        "session_visits": request.session["visits"],
        "site_hits": hits,
        "session_shard": client.shard_for(f"demo-sessions:{request.session.session_key}"),
        "masters": {name: "%s:%s" % client.master_for_shard(name) for name in client.shards},
        "last_visit_ttl": djredis.ttl("last-visit"),
    })

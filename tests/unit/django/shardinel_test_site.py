"""The Django project of the shardinel_django tests: settings, four views and their URLs.

POST /login/ logs TEST_USERNAME in, POST /logout/ logs out, GET /visit/ counts visits in the session
and answers {"user": ..., "visits": n}: every request reads and writes the session. GET /async-visit/ is an
async view that does the same with the session's async API and also counts hits in the "shardinel" cache
(aincr), for the tests under ASGI.
"""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

TEST_USERNAME = "alice"
TEST_PASSWORD = "correct horse battery staple"

SETTINGS = {
    "DEBUG": False,
    "SECRET_KEY": "shardinel-django-tests-only",
    "ALLOWED_HOSTS": ["testserver"],
    "INSTALLED_APPS": ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"],
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    "ROOT_URLCONF": "shardinel_test_site",
    "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    "SESSION_ENGINE": "shardinel_django.sessions",
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
    "USE_TZ": True,
}


def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
    if user is None:
        return HttpResponse("wrong username or password", status=403)
    login(request, user)
    return HttpResponse("logged in")


def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("logged out")


def visit_view(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    user = request.user.get_username() if request.user.is_authenticated else None
    return JsonResponse({"user": user, "visits": request.session["visits"]})


async def async_visit_view(request: HttpRequest) -> HttpResponse:
    visits = await request.session.aget("visits", 0) + 1
    await request.session.aset("visits", visits)
    cache = caches["shardinel"]
    await cache.aadd("hits", 0, timeout=None)
    return JsonResponse({"visits": visits, "hits": await cache.aincr("hits")})


urlpatterns = [
    path("login/", login_view),
    path("logout/", logout_view),
    path("visit/", visit_view),
    path("async-visit/", async_visit_view),
]

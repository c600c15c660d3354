import hmac
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as generic_server_error
from psycopg_pool import PoolTimeout

from . import health


def _may_see_details(request: HttpRequest) -> bool:
    token = settings.HEALTHZ_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and offered and hmac.compare_digest(token, offered):
        return True
    return request.user.is_authenticated and request.user.is_staff


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for anyone; the dependency report for staff or `Authorization: Bearer $HEALTHZ_TOKEN`."""
    if not _may_see_details(request):
        return JsonResponse(health.liveness())
    body, healthy = health.report()
    return JsonResponse(body, status=200 if healthy else 503)


def home(request: HttpRequest):
    return redirect("today" if request.user.is_authenticated else "account_login")


def server_error(request: HttpRequest) -> HttpResponse:
    """A request that failed because PostgreSQL is unreachable (restarting, say) is a 503 with a page that says so
    and when to retry; htmx shows its own retry notice for any failed answer. Anything else is the generic 500.

    Django calls this inside its `except` block, so the exception is at hand. The page is rendered without context
    processors, which would reach for the database again (the user, the profile)."""
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return generic_server_error(request)
    page = loader.get_template("database_unavailable.html").render({})
    return HttpResponse(page, status=503, headers={"Retry-After": "5"})

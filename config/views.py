import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

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

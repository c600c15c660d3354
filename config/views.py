from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from . import health


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    body, healthy = health.report()
    return JsonResponse(body, status=200 if healthy else 503)


def home(request: HttpRequest):
    return redirect("today" if request.user.is_authenticated else "account_login")

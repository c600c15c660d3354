"""The project's URLs plus a bare view, so the review loop can be compared with Django doing nothing."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("bench/bare/", lambda request: HttpResponse("ok"), name="bench_bare")]

"""The project's URLs, plus stand-ins for the lesson pages while the content app does not route them yet."""

from django.http import HttpResponse
from django.urls import NoReverseMatch, path, reverse

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
try:
    reverse("lesson_detail", urlconf="config.urls", args=["c", "l"])
except NoReverseMatch:
    urlpatterns += [
        path("courses/<slug:course>/<slug:lesson>/", lambda request, **kw: HttpResponse("lesson"), name="lesson_detail"),
        path("courses/<slug:course>/", lambda request, **kw: HttpResponse("course"), name="course_detail"),
    ]

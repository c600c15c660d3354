"""The project's URLs plus a stand-in lesson page, for as long as the content app has not published its own."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("courses/<slug:course>/<slug:lesson>/", lambda request, course, lesson: HttpResponse(lesson),
         name="lesson_detail"),
]

from django.urls import path

from . import views

urlpatterns = [
    path("courses/", views.course_list, name="courses"),
    # Before the course pages: "upload" would otherwise be read as a course slug.
    path("courses/upload/", views.upload, name="content_upload"),
    path("courses/upload/<int:job_id>/", views.upload_job, name="content_upload_job"),
    path("courses/upload/<int:job_id>/retry/", views.upload_job_retry, name="content_upload_job_retry"),
    path("courses/<slug:slug>/", views.course_detail, name="course_detail"),
    path("courses/<slug:course_slug>/diagrams/<str:name>", views.diagram, name="course_diagram"),
    path("courses/<slug:course_slug>/<slug:lesson_slug>/", views.lesson_detail, name="lesson_detail"),
    path("courses/<slug:course_slug>/<slug:lesson_slug>/read/", views.lesson_read, name="lesson_read"),
    path("glossary/", views.glossary, name="glossary"),
]

from django.contrib import admin
from django.urls import include, path

from teams import views as teams_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/profile/", teams_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    path("language/", teams_views.language_switch, name="language_switch"),
    path("admin/", admin.site.urls),
    path("", include("content.urls")),
    path("", include("quizzes.urls")),
    path("", include("tutor.urls")),
    path("", include("teams.urls")),
]

handler500 = "config.views.server_error"

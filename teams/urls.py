from django.urls import path

from . import views

urlpatterns = [
    path("team/", views.team, name="team"),
    path("team/<int:team_id>/", views.team_dashboard, name="team_dashboard"),
    path("team/<int:team_id>/dashboard.csv", views.team_dashboard_csv, name="team_dashboard_csv"),
    path("team/<int:team_id>/people/", views.team_people, name="team_people"),
    path(
        "team/<int:team_id>/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("team/<int:team_id>/assignments/", views.team_assignments, name="team_assignments"),
    path("team/join/<str:token>/", views.team_join, name="team_join"),
]

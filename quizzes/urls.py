from django.urls import path

from . import views

urlpatterns = [
    path("today/", views.today, name="today"),
    path("progress/", views.progress, name="progress"),
    path("progress/cards.csv", views.export_csv, name="export_csv"),
    path("progress/cards.apkg", views.export_apkg, name="export_apkg"),
    path("reminders/unsubscribe/<str:token>/", views.reminders_unsubscribe, name="reminders_unsubscribe"),
]

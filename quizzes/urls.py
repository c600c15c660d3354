from django.urls import path

from . import views

urlpatterns = [
    path("today/", views.today, name="today"),
    path("today/start/", views.today_start, name="today_start"),
    path("today/lesson/", views.today_lesson_start, name="today_lesson_start"),
    path("today/answer/", views.today_answer, name="today_answer"),
    path("today/rate/", views.today_rate, name="today_rate"),
    path("today/undo/", views.today_undo, name="today_undo"),
    path("today/more/", views.today_extend, name="today_extend"),
    path("progress/", views.progress, name="progress"),
    path("cards/", views.my_cards, name="my_cards"),
    path("cards/<int:card_id>/<slug:action>/", views.my_card_action, name="my_card_action"),
    path("progress/cards.csv", views.export_csv, name="export_csv"),
    path("progress/cards.apkg", views.export_apkg, name="export_apkg"),
    path("reminders/unsubscribe/<str:token>/", views.reminders_unsubscribe, name="reminders_unsubscribe"),
]

from django.urls import path

from . import views

urlpatterns = [
    path("tutor/", views.tutor, name="tutor"),
    path("tutor/ask/", views.ask, name="tutor_ask"),
    path("tutor/c/<int:conversation_id>/", views.conversation, name="tutor_conversation"),
    path("tutor/c/<int:conversation_id>/delete/", views.conversation_delete, name="tutor_conversation_delete"),
    path("tutor/answers/<int:answer_id>/stream/", views.answer_stream, name="tutor_answer_stream"),
    path("tutor/answers/<int:answer_id>/reveal/", views.reveal, name="tutor_reveal"),
    path("tutor/answers/<int:answer_id>/feedback/", views.feedback, name="tutor_feedback"),
    path("tutor/answers/<int:answer_id>/card/", views.card, name="tutor_card"),
]

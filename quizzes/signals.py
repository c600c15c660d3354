from django.dispatch import receiver

from content.signals import course_content_changed
from outbox.services import send_on_commit

from .tasks import generate_questions_for_course


@receiver(course_content_changed)
def questions_generate_for_new_lessons(sender, course, **kwargs):
    # Through the outbox: with the broker down, the request is kept in PostgreSQL and sent later.
    send_on_commit(generate_questions_for_course, course.id)

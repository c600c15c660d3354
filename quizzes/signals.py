from django.db import transaction
from django.dispatch import receiver

from content.signals import course_content_changed

from .tasks import generate_questions_for_course


@receiver(course_content_changed)
def questions_generate_for_new_lessons(sender, course, **kwargs):
    course_id = course.id
    transaction.on_commit(lambda: generate_questions_for_course.delay(course_id))

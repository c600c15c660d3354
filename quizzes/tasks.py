"""Celery tasks: each takes ids, calls one service, and is safe to run twice."""

import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)
# How many learners one send task handles: enough to keep the queue short with 100k learners.
REMINDER_BATCH = 500


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def generate_questions_for_course(course_id: int) -> dict:
    from content.models import Course

    from .generation import questions_generate

    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        return {}
    report = questions_generate(course=course)
    return {"approved": report.approved, "drafts": report.drafts, "rejected": report.rejected}


@shared_task(acks_late=True)
def reminders_queue() -> int:
    """Hourly: claim the learners whose reminder hour it is (once per local day) and queue their emails."""
    from .services import reminder_claim_due

    user_ids = reminder_claim_due(now=timezone.now())
    for start in range(0, len(user_ids), REMINDER_BATCH):
        reminders_send.delay(user_ids[start:start + REMINDER_BATCH])
    return len(user_ids)


@shared_task(acks_late=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=2, max_retries=3)
def reminders_send(user_ids: list[int]) -> int:
    from .services import reminder_send

    sent = 0
    for user_id in user_ids:
        try:
            sent += reminder_send(user_id=user_id)
        except Exception:  # noqa: BLE001 — one bad address must not stop the others' reminders
            logger.exception("reminder to user %s failed", user_id)
    return sent


@shared_task(acks_late=True)
def fsrs_parameters_optimise_all() -> int:
    """Nightly: queue an optimisation for every learner with enough reviews."""
    from .selectors import users_with_enough_reviews
    from .services import MIN_REVIEWS_FOR_OPTIMISATION

    user_ids = users_with_enough_reviews(minimum=MIN_REVIEWS_FOR_OPTIMISATION)
    for user_id in user_ids:
        fsrs_parameters_optimise.delay(user_id)
    return len(user_ids)


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def fsrs_parameters_optimise(user_id: int) -> bool:
    from django.contrib.auth import get_user_model

    from .services import fsrs_parameters_optimise as optimise

    user = get_user_model().objects.filter(pk=user_id).first()
    return user is not None and optimise(user=user).adopted

"""Celery tasks: each takes ids, calls one service, and is safe to run twice."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from content.models import Course

from . import services
from .generation import questions_generate_once
from .selectors import users_with_enough_reviews

logger = logging.getLogger(__name__)
# How many learners one send task handles: enough to keep the queue short with 100k learners.
REMINDER_BATCH = 500


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def generate_questions_for_course(course_id: int) -> dict:
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        return {}
    report = questions_generate_once(course=course)
    if report is None:
        return {"skipped": "another run for this course is going"}
    return {
        "approved": report.approved,
        "drafts": report.drafts,
        "rejected": report.rejected,
        "without_model": report.without_model,
    }


@shared_task(acks_late=True)
def reminders_queue() -> int:
    """Hourly: claim the learners whose reminder hour it is (once per local day) and queue their emails."""
    user_ids = services.reminder_claim_due(now=timezone.now())
    for start in range(0, len(user_ids), REMINDER_BATCH):
        reminders_send.delay(user_ids[start : start + REMINDER_BATCH])
    return len(user_ids)


@shared_task(acks_late=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=2, max_retries=3)
def reminders_send(user_ids: list[int]) -> int:
    sent = 0
    for user_id in user_ids:
        try:
            sent += services.reminder_send(user_id=user_id)
        except Exception:  # noqa: BLE001 — one bad address must not stop the others' reminders
            logger.exception("reminder to user %s failed", user_id)
    return sent


@shared_task(acks_late=True)
def fsrs_parameters_optimise_all() -> int:
    """Nightly: queue an optimisation for every learner with enough reviews."""
    user_ids = users_with_enough_reviews(minimum=services.MIN_REVIEWS_FOR_OPTIMISATION)
    for user_id in user_ids:
        fsrs_parameters_optimise.delay(user_id)
    return len(user_ids)


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def fsrs_parameters_optimise(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id).first()
    return user is not None and services.fsrs_parameters_optimise(user=user).adopted

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from quizzes import services, tasks
from quizzes.models import Card, ReviewLog, ReviewSettings
from quizzes.selectors import users_with_enough_reviews

from .conftest import question_make

pytestmark = pytest.mark.django_db
# 07:00 UTC is 15:00 in Shanghai and 08:00 in London (winter time): Alice in Shanghai asks for 15:00.
SEVEN_UTC = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def alice_due(alice):
    alice.profile.timezone = "Asia/Shanghai"
    alice.profile.save()
    services.review_settings_update(user=alice, reminder_hour=15)
    Card.objects.create(user=alice, question=question_make(), due=SEVEN_UTC - timedelta(hours=1))
    return alice


def test_a_learner_gets_one_reminder_at_their_local_hour_even_if_the_job_runs_twice(alice_due):
    assert services.reminder_claim_due(now=SEVEN_UTC - timedelta(hours=1)) == []
    assert services.reminder_claim_due(now=SEVEN_UTC) == [alice_due.pk]
    assert services.reminder_claim_due(now=SEVEN_UTC + timedelta(minutes=5)) == []
    assert services.reminder_claim_due(now=SEVEN_UTC + timedelta(days=1)) == [alice_due.pk], "and again tomorrow"


def test_no_reminder_without_due_cards_or_after_unsubscribing(alice_due, mallory):
    services.review_settings_update(user=mallory, reminder_hour=7)
    assert services.reminder_claim_due(now=SEVEN_UTC) == [alice_due.pk], "mallory has nothing due"
    services.reminders_disable(user_id=alice_due.pk)
    assert services.reminder_claim_due(now=SEVEN_UTC + timedelta(days=1)) == []


def test_the_reminder_email_counts_due_cards_and_carries_a_working_unsubscribe_link(client, alice_due):
    services.reminder_claim_due(now=SEVEN_UTC)
    assert services.reminder_send(user_id=alice_due.pk, now=SEVEN_UTC)
    message = mail.outbox[0]
    assert "1 card" in message.subject and message.to == [alice_due.email]
    link = next(line for line in message.body.splitlines() if "/reminders/unsubscribe/" in line).split()[-1]
    path = link.split("//", 1)[1].split("/", 1)[1]
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert client.get("/" + path).status_code == 200
    client.post("/" + path)
    assert not ReviewSettings.objects.get(user=alice_due).reminders_enabled
    assert client.get(reverse("reminders_unsubscribe", args=["forged"])).status_code == 404


def test_the_reminder_speaks_the_learners_language(alice_due):
    alice_due.profile.language = "zh-hans"
    alice_due.profile.save()
    services.reminder_claim_due(now=SEVEN_UTC)
    services.reminder_send(user_id=alice_due.pk, now=SEVEN_UTC)
    assert "张卡片" in mail.outbox[0].subject


def test_the_optimiser_fits_parameters_once_there_are_enough_reviews(alice, now):
    card_questions = [question_make() for _ in range(40)]
    rng = random.Random(7)
    logs = []
    for question in card_questions:
        card = Card.objects.create(user=alice, question=question, due=now)
        at = now
        for step in range(12):
            rating = rng.choices([1, 2, 3, 4], weights=[1, 1, 6, 1])[0]
            logs.append(ReviewLog(card=card, user=alice, rating=rating, reviewed_at=at, duration_ms=3000,
                                  correct=rating > 1, card_before={}, card_after={},
                                  idempotency_key=f"{card.pk}-{step}"))
            at += timedelta(days=rng.randint(1, 2 ** min(step, 6)))
    ReviewLog.objects.bulk_create(logs)
    assert users_with_enough_reviews(minimum=services.MIN_REVIEWS_FOR_OPTIMISATION) == [alice.pk]
    assert tasks.fsrs_parameters_optimise.run(alice.pk)
    parameters = ReviewSettings.objects.get(user=alice).fsrs_parameters
    assert len(parameters) == 21 and parameters != pytest.approx(list(
        __import__("fsrs_rs_python").DEFAULT_PARAMETERS), rel=1e-4)


def test_the_optimiser_leaves_a_new_learner_on_the_defaults(alice):
    services.review_settings_for(user=alice)
    assert services.fsrs_parameters_optimise(user=alice) is None
    assert ReviewSettings.objects.get(user=alice).fsrs_parameters == []


def test_a_reminder_batch_delivered_twice_mails_each_learner_once(alice_due):
    from quizzes.tasks import reminders_send

    assert services.reminder_claim_due(now=SEVEN_UTC) == [alice_due.pk]
    assert reminders_send.run([alice_due.pk]) == 1
    assert reminders_send.run([alice_due.pk]) == 0, "the same batch again, as after a lost worker"
    assert len(mail.outbox) == 1
    assert services.reminder_claim_due(now=SEVEN_UTC + timedelta(days=1)) == [alice_due.pk]
    assert reminders_send.run([alice_due.pk]) == 1, "tomorrow's reminder is a new claim"
    assert len(mail.outbox) == 2

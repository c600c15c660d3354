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
    studied_card_make(alice, due=SEVEN_UTC - timedelta(hours=1))
    return alice


def studied_card_make(user, *, due):
    """A card the learner has answered before, now scheduled for `due`: only such cards are ever "due"."""
    return Card.objects.create(
        user=user,
        question=question_make(),
        due=due,
        reps=1,
        fsrs={
            "state": 2,
            "step": None,
            "stability": 3.0,
            "difficulty": 5.0,
            "due": due.isoformat(),
            "last_review": (due - timedelta(days=3)).isoformat(),
        },
    )


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


def test_the_reminder_counts_cards_due_today_not_unseen_new_cards(alice_due):
    for _ in range(78):
        Card.objects.create(user=alice_due, question=question_make(), due=SEVEN_UTC - timedelta(days=1))
    # Due later today (Shanghai's day turns at 4 am, 20:00 UTC): counted. Due tomorrow: not.
    studied_card_make(alice_due, due=SEVEN_UTC + timedelta(hours=12))
    studied_card_make(alice_due, due=SEVEN_UTC + timedelta(hours=14))
    assert services.reminder_claim_due(now=SEVEN_UTC) == [alice_due.pk]
    assert services.reminder_send(user_id=alice_due.pk, now=SEVEN_UTC)
    assert "2 cards" in mail.outbox[0].subject


def test_a_learner_with_only_unseen_cards_gets_no_reminder(alice):
    services.review_settings_update(user=alice, reminder_hour=7)
    Card.objects.create(user=alice, question=question_make(), due=SEVEN_UTC - timedelta(days=1))
    assert services.reminder_claim_due(now=SEVEN_UTC) == []
    assert not services.reminder_send(user_id=alice.pk, now=SEVEN_UTC)


def hourly_claims(start, hours):
    """Run the hourly job as beat does (at minute 0) for `hours` hours; the times at which each learner was claimed."""
    claims = []
    for hour in range(hours):
        moment = start + timedelta(hours=hour)
        claims += [(user_id, moment) for user_id in services.reminder_claim_due(now=moment)]
    return claims


@pytest.mark.parametrize(
    "change",
    [datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)],
    ids=["spring-forward", "fall-back"],
)
def test_a_berlin_learner_is_reminded_at_8_local_on_both_sides_of_a_dst_change(alice, change):
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    alice.profile.timezone = "Europe/Berlin"
    alice.profile.save()
    services.review_settings_update(user=alice, reminder_hour=8)
    studied_card_make(alice, due=change - timedelta(days=5))
    claims = hourly_claims(change - timedelta(days=3), hours=24 * 6)
    local = [moment.astimezone(berlin) for _user, moment in claims]
    assert [moment.hour for moment in local] == [8] * 6
    assert [moment.date() for moment in local] == [(change + timedelta(days=d)).date() for d in range(-3, 3)]
    assert {moment.utcoffset() for moment in local} == {timedelta(hours=1), timedelta(hours=2)}


def test_cards_that_fall_due_after_the_reminder_hour_still_bring_the_days_reminder_once(alice):
    services.review_settings_update(user=alice, reminder_hour=7)
    assert hourly_claims(SEVEN_UTC, hours=3) == [], "nothing studied yet, nothing due"
    # A lesson studied at 10:30 and a card set back (by undo, say) to be due this evening.
    studied_card_make(alice, due=SEVEN_UTC + timedelta(hours=11))
    claims = hourly_claims(SEVEN_UTC + timedelta(hours=4), hours=16)
    assert claims == [(alice.pk, SEVEN_UTC + timedelta(hours=4))]


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
            logs.append(
                ReviewLog(
                    card=card,
                    user=alice,
                    rating=rating,
                    reviewed_at=at,
                    duration_ms=3000,
                    correct=rating > 1,
                    card_before={},
                    card_after={},
                    idempotency_key=f"{card.pk}-{step}",
                )
            )
            at += timedelta(days=rng.randint(1, 2 ** min(step, 6)))
    ReviewLog.objects.bulk_create(logs)
    assert users_with_enough_reviews(minimum=services.MIN_REVIEWS_FOR_OPTIMISATION) == [alice.pk]
    assert tasks.fsrs_parameters_optimise.run(alice.pk)
    parameters = ReviewSettings.objects.get(user=alice).fsrs_parameters
    assert len(parameters) == 21 and parameters != pytest.approx(
        list(__import__("fsrs_rs_python").DEFAULT_PARAMETERS), rel=1e-4
    )


def test_the_optimiser_leaves_a_new_learner_on_the_defaults(alice):
    services.review_settings_for(user=alice)
    assert not services.fsrs_parameters_optimise(user=alice).adopted
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

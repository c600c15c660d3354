import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse

from quizzes import selectors, services
from quizzes.models import Card, ReviewLog

from .conftest import question_make, section_make

pytestmark = pytest.mark.django_db


def rate(card, rating, at):
    services.review_record(
        card=card,
        rating=rating,
        answered_at=at,
        duration_ms=3000,
        correct=rating > 1,
        idempotency_key=f"{card.pk}-{at.isoformat()}",
    )
    card.refresh_from_db()


def next_card(user, now, **kwargs):
    return selectors.session_next(user=user, now=now, **kwargs).card


def test_due_reviews_come_before_new_cards(alice, now):
    new = Card.objects.create(user=alice, question=question_make(), due=now)
    old = Card.objects.create(user=alice, question=question_make(), due=now - timedelta(days=3))
    rate(old, 3, now - timedelta(days=3))
    assert next_card(alice, now + timedelta(days=3)) == old
    assert new.is_new


def test_new_cards_stop_at_the_daily_limit_in_the_learners_own_day(alice, now):
    alice.profile.timezone = "America/New_York"
    alice.profile.save()
    services.review_settings_update(user=alice, new_per_day=2)
    cards = [Card.objects.create(user=alice, question=question_make(), due=now) for _ in range(3)]
    rate(cards[0], 4, now)
    rate(cards[1], 4, now)
    assert next_card(alice, now + timedelta(minutes=1)) is None
    # 09:00 UTC is 04:00 in New York, the rollover hour: the learner's next day starts at 09:00 UTC tomorrow.
    assert next_card(alice, now.replace(hour=23, minute=30)) is None
    assert next_card(alice, now + timedelta(days=1)) == cards[2]


def test_siblings_on_the_same_concept_wait_for_another_day(alice, now, course):
    from content.models import Concept

    rank = Concept.objects.create(course=course, slug="rank", term="rank")
    first = Card.objects.create(user=alice, question=question_make(concepts=[rank]), due=now)
    sibling = Card.objects.create(user=alice, question=question_make(concepts=[rank]), due=now)
    other = Card.objects.create(user=alice, question=question_make(), due=now)
    rate(first, 4, now)
    assert next_card(alice, now + timedelta(minutes=1)) == other
    rate(other, 4, now + timedelta(minutes=1))
    assert next_card(alice, now + timedelta(minutes=2)) is None
    assert next_card(alice, now + timedelta(days=1)) == sibling


def test_progress_shows_streak_retention_forecast_and_mastery(client, alice, now, course):
    from content.models import Concept

    lora = Concept.objects.create(course=course, slug="lora", term="LoRA", term_zh="低秩适配")
    card = Card.objects.create(user=alice, question=question_make(concepts=[lora]), due=now)
    at = now - timedelta(days=6)
    rate(card, 3, at)
    rate(card, 3, card.due)
    rate(card, 3, card.due)
    client.force_login(alice)
    page = client.get(reverse("progress")).content.decode()
    assert "<svg" in page and "LoRA" in page
    stats = selectors.progress_for(
        user=alice, review_settings=services.review_settings_for(user=alice), now=card.due - timedelta(hours=1)
    )
    assert stats["retention"] == 1.0 and stats["total_reviews"] == 3
    assert sum(n for _, n in stats["forecast"]) == 1
    assert 0 < stats["mastery"][0][1] <= 1


def test_a_streak_counts_consecutive_days(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    for days_ago in (0, 1, 2, 4):
        ReviewLog.objects.create(
            card=card,
            user=alice,
            rating=3,
            reviewed_at=now - timedelta(days=days_ago),
            duration_ms=1,
            correct=True,
            card_before={},
            card_after={},
            idempotency_key=f"k{days_ago}",
        )
    stats = selectors.progress_for(user=alice, review_settings=services.review_settings_for(user=alice), now=now)
    assert stats["streak"] == 3


def test_cards_export_to_csv_and_anki_and_only_your_own(client, alice, mallory, now):
    section = section_make(heading="Attention")
    Card.objects.create(user=alice, question=question_make(section=section, prompt="Alice asks ____"), due=now)
    Card.objects.create(user=mallory, question=question_make(prompt="Mallory asks ____"), due=now)
    client.force_login(alice)
    rows = list(csv.reader(io.StringIO(client.get(reverse("export_csv")).content.decode())))
    assert rows[0][0] == "question" and [r[0] for r in rows[1:]] == ["Alice asks ____"]
    apkg = client.get(reverse("export_apkg")).content
    with zipfile.ZipFile(io.BytesIO(apkg)) as package:
        assert "collection.anki2" in package.namelist()


def test_review_settings_can_be_changed_on_the_progress_page(client, alice):
    client.force_login(alice)
    client.post(
        reverse("progress"),
        {
            "desired_retention": "0.85",
            "new_per_day": "5",
            "max_reviews_per_day": "100",
            "rollover_hour": "3",
            "reminder_hour": "7",
            "reminders_enabled": "on",
        },
    )
    review_settings = services.review_settings_for(user=alice)
    assert (review_settings.desired_retention, review_settings.new_per_day) == (0.85, 5)


def test_a_learner_with_no_answers_is_pointed_to_today_instead_of_empty_charts(client, alice):
    client.force_login(alice)
    page = client.get(reverse("progress")).text
    assert "No answers yet" in page and f'href="{reverse("today")}"' in page

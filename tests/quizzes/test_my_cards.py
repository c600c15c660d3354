"""My cards: suspend, reset and edit one's own cards; leeches; the Anki export that continues where Primer was."""

import io
import sqlite3
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from quizzes import selectors, services
from quizzes.models import Card, Question, ReviewLog

from .conftest import question_make

pytestmark = pytest.mark.django_db


def answer(card, rating, at):
    services.review_record(
        card=card,
        rating=rating,
        answered_at=at,
        duration_ms=3000,
        correct=rating > 1,
        idempotency_key=f"{card.pk}-{at.isoformat()}",
    )
    card.refresh_from_db()
    return card


def next_card(user, now):
    return selectors.session_next(user=user, now=now).card


def studied(card, now, *, days=40):
    """Answer Good on every due date for `days` days: the card ends up in review with a history."""
    at = now
    while at < now + timedelta(days=days):
        answer(card, 3, at)
        at = max(card.due, at + timedelta(minutes=1))
    return at


def lapse_until_leech(card, now, lapses=8):
    """Move the clock from due date to due date: Good until the card is in review, then Again, eight times."""
    at = now
    while card.lapses < lapses:
        in_review = card.fsrs.get("state") == 2
        answer(card, 1 if in_review else 3, at)
        at = max(card.due, at + timedelta(minutes=1))
    return at


def htmx_post(client, card, action, data=None):
    return client.post(reverse("my_card_action", args=[card.pk, action]), data or {}, HTTP_HX_REQUEST="true")


def test_a_suspended_card_never_comes_up_until_it_is_unsuspended(client, alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    client.force_login(alice)
    response = htmx_post(client, card, "suspend")
    assert response.status_code == 200 and "Unsuspend" in response.text
    assert next_card(alice, now + timedelta(days=3)) is None
    htmx_post(client, card, "unsuspend")
    assert next_card(alice, now + timedelta(days=3)) == card


def test_resetting_a_card_makes_it_new_again_and_keeps_its_history(client, alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    later = studied(card, now)
    assert card.stability == card.fsrs["stability"] and card.last_review.isoformat() == card.fsrs["last_review"]
    answers = ReviewLog.objects.filter(card=card).count()
    client.force_login(alice)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.utils.timezone.now", lambda: later)
        htmx_post(client, card, "reset")
    card.refresh_from_db()
    assert (card.reps, card.lapses, card.fsrs, card.due, card.stability) == (0, 0, {}, later, None)
    assert ReviewLog.objects.filter(card=card).count() == answers > 3
    assert next_card(alice, later) == card, "offered as a new card"
    # Its memory starts again: a replay after the reset sees only what was answered since.
    answer(card, 3, later)
    assert [log.reviewed_at for log in selectors.review_histories(user=alice)[card.pk]] == [later]


def test_a_learner_rewords_their_own_tutor_card_and_keeps_a_note_on_a_shared_one(client, alice, mallory, now):
    own = Card.objects.create(user=alice, question=question_make(owner=alice, origin="tutor", prompt="Old?"), due=now)
    shared_question = question_make(prompt="What is attention?")
    shared = Card.objects.create(user=alice, question=shared_question, due=now)
    client.force_login(alice)
    assert 'name="prompt"' in client.get(reverse("my_card_action", args=[own.pk, "edit"]), HTTP_HX_REQUEST="true").text
    htmx_post(client, own, "edit", {"prompt": "What does LoRA train?", "answer": "low-rank matrices", "note": ""})
    htmx_post(client, shared, "edit", {"prompt": "Hijacked", "answer": "x", "note": "Think of a lookup table."})
    own.question.refresh_from_db()
    shared_question.refresh_from_db()
    shared.refresh_from_db()
    assert (own.question.prompt, own.question.answer) == ("What does LoRA train?", "low-rank matrices")
    assert shared_question.prompt == "What is attention?" and shared.note == "Think of a lookup table."
    client.force_login(mallory)
    assert htmx_post(client, shared, "suspend").status_code == 404


def test_a_card_forgotten_eight_times_is_tagged_a_leech_and_suspended(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    lapse_until_leech(card, now)
    assert card.is_leech and card.suspended and card.lapses == 8
    # Undo reaches the last answer of the learner's day: undo right after it.
    last = ReviewLog.objects.filter(card=card).latest("reviewed_at")
    assert services.review_undo(user=alice, now=last.reviewed_at + timedelta(seconds=5)) is not None
    card.refresh_from_db()
    assert not card.is_leech and not card.suspended, "undoing the eighth lapse takes both back"


def test_with_the_setting_off_a_leech_is_tagged_but_stays_in_reviews(alice, now):
    services.review_settings_update(user=alice, suspend_leeches=False)
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    at = lapse_until_leech(card, now)
    assert card.is_leech and not card.suspended
    assert next_card(alice, at + timedelta(days=1)) == card


def test_my_cards_lists_searches_and_filters_in_english_and_chinese(client, alice, mallory, now):
    Card.objects.create(user=alice, question=question_make(prompt="Why does attention scale?"), due=now)
    Card.objects.create(user=alice, question=question_make(prompt="What is a token?"), due=now, suspended=True)
    Card.objects.create(user=alice, question=question_make(prompt="What is RLHF?"), due=now, is_leech=True)
    Card.objects.create(user=mallory, question=question_make(prompt="Mallory's secret?"), due=now)
    client.force_login(alice)
    page = client.get(reverse("my_cards")).text
    assert "3 cards" in page and "Mallory" not in page
    assert "What is a token?" in client.get(reverse("my_cards"), {"show": "suspended"}).text
    leeches = client.get(reverse("my_cards"), {"show": "leeches"}, HTTP_HX_REQUEST="true").text
    assert "RLHF" in leeches and "What is a token?" not in leeches and "<h1>" not in leeches
    assert "attention" in client.get(reverse("my_cards"), {"q": "ATTENTION"}).text
    alice.profile.language = "zh-hans"
    alice.profile.save()
    page = client.get(reverse("my_cards")).text
    assert "我的卡片" in page and "暂停" in page


def test_the_anki_deck_carries_each_cards_history_and_schedule_and_leaves_retired_questions_out(client, alice, now):
    card = Card.objects.create(user=alice, question=question_make(prompt="Kept ____"), due=now)
    studied(card, now)
    retired = Card.objects.create(user=alice, question=question_make(prompt="Retired ____"), due=now)
    answer(retired, 3, now)
    Question.objects.filter(pk=retired.question_id).update(status=Question.Status.RETIRED)
    card.refresh_from_db()
    logs = list(ReviewLog.objects.filter(card=card).order_by("reviewed_at"))
    client.force_login(alice)
    apkg = client.get(reverse("export_apkg")).content
    with tempfile.TemporaryDirectory() as directory, zipfile.ZipFile(io.BytesIO(apkg)) as package:
        package.extract("collection.anki2", directory)
        db = sqlite3.connect(Path(directory) / "collection.anki2")
        (crt,) = db.execute("SELECT crt FROM col").fetchone()
        notes = db.execute("SELECT flds FROM notes").fetchall()
        anki_type, queue, due, interval, reps, data = db.execute(
            "SELECT type, queue, due, ivl, reps, data FROM cards"
        ).fetchone()
        revlog = db.execute("SELECT id, ease, ivl, type FROM revlog ORDER BY id").fetchall()
        db.close()
    assert len(notes) == 1 and notes[0][0].startswith("Kept")
    assert (anki_type, queue, reps) == (2, 2, card.reps)
    assert due == int((card.due.timestamp() - crt) // 86400), "due on the same day in Anki's day count"
    last_review = logs[-1].reviewed_at
    assert interval == round((card.due - last_review).total_seconds() / 86400) > 1
    assert '"s":' in data.replace(" ", "")
    assert [row[1] for row in revlog] == [log.rating for log in logs]
    assert [row[0] for row in revlog] == [int(log.reviewed_at.timestamp() * 1000) for log in logs]
    assert revlog[0][3] == 0 and revlog[-1][3] == 1, "first a learning answer, last a review"
    assert revlog[-1][2] == interval

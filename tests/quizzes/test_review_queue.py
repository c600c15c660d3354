"""The daily queue over weeks of simulated reviews: which cards come, in what order, under which limits."""

import itertools
import random
import re
from datetime import UTC, datetime, timedelta

import fsrs
import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from content.models import Concept
from quizzes import scheduling, selectors, services
from quizzes.forms import FEEDBACK_SALT
from quizzes.models import Card, ReviewLog

from .conftest import question_make

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
_keys = itertools.count()


def rate(card, rating, at):
    log = services.review_record(
        card=card,
        rating=rating,
        answered_at=at,
        duration_ms=3000,
        correct=rating > 1,
        idempotency_key=f"k{next(_keys)}",
    )
    card.refresh_from_db()
    return log


def in_review(user, at, **fields):
    """A card answered twice from new, so FSRS has it in the Review state; returns it with its due date."""
    card = Card.objects.create(user=user, question=question_make(**fields), due=at)
    rate(card, 3, at)
    rate(card, 3, card.due)
    assert card.fsrs["state"] == fsrs.State.Review.value
    return card


def session(user, now, **kwargs):
    return selectors.session_next(user=user, now=now, **kwargs)


def work_through(user, now, rating=3, limit=500):
    """Answer every card the queue offers, a minute apart; returns the cards shown, in order."""
    shown = []
    for _ in range(limit):
        card = session(user, now).card
        if card is None:
            return shown
        shown.append(card.pk)
        rate(Card.objects.get(pk=card.pk), rating, now)
        now += timedelta(minutes=1)
    raise AssertionError("the queue never ran dry")


def test_due_cards_behind_held_back_siblings_are_never_stranded(alice, now, course):
    rank = Concept.objects.create(course=course, slug="rank", term="rank")
    start = now - timedelta(weeks=3)
    siblings = [in_review(alice, start, concepts=[rank]) for _ in range(14)]
    others = [in_review(alice, start + timedelta(days=2)) for _ in range(3)]
    today = max(card.due for card in siblings + others) + timedelta(days=1)
    rate(siblings[0], 1, today)  # forgotten: now relearning, and every other card on "rank" waits for tomorrow
    offered = work_through(alice, today + timedelta(minutes=1))
    assert siblings[0].pk in offered, "the relearning card comes back the same day"
    assert set(card.pk for card in others) <= set(offered), "later due cards are not stuck behind the siblings"
    assert not set(card.pk for card in siblings[1:]) & set(offered)
    tomorrow = work_through(alice, today + timedelta(days=1))
    assert len(set(card.pk for card in siblings[1:]) & set(tomorrow)) == 1, "one card on a concept per day"


def test_the_count_on_the_page_is_what_the_session_offers_every_day(alice, now):
    services.review_settings_update(user=alice, new_per_day=5, max_reviews_per_day=12)
    for _ in range(40):
        Card.objects.create(user=alice, question=question_make(), due=now)
    day = now.replace(hour=19)
    for _ in range(21):
        start = session(alice, day)
        promised = start.due_count + start.new_count
        work_through(alice, day, rating=random.Random(day.toordinal()).choice([3, 4]))
        first_answers = ReviewLog.objects.filter(
            user=alice,
            reviewed_at__gte=day,
            reviewed_at__lt=day + timedelta(hours=8),
            state_before__in=[0, fsrs.State.Review.value],
        ).count()
        assert first_answers == promised
        assert promised <= 12, "new cards count toward the review limit"
        day += timedelta(days=1)


def test_a_limit_says_which_one_stopped_the_session_and_can_be_raised(client, alice):
    now = timezone.now()  # the page below answers to the real clock
    # The hour after must stay the same learner day whenever the suite runs: the day turns over half a day away.
    rollover = (now.astimezone(selectors.learner_zone(alice)).hour + 12) % 24
    services.review_settings_update(user=alice, new_per_day=2, rollover_hour=rollover)
    for _ in range(5):
        Card.objects.create(user=alice, question=question_make(), due=now)
    work_through(alice, now)
    stopped = session(alice, now + timedelta(hours=1))
    assert (stopped.card, stopped.stopped_by, stopped.new_held, stopped.new_count) == (None, "new", 3, 0)
    client.force_login(alice)
    page = client.get(reverse("today")).content.decode()
    assert "new-card limit" in page and "Learn 10 more new cards today" in page
    page = client.post(reverse("today_extend"), {"limit": "new"}, **HTMX).content.decode()
    assert 'name="card"' in page, "the raised limit lets the next new card through at once"

    services.review_settings_update(user=alice, max_reviews_per_day=1)
    assert session(alice, now + timedelta(days=1, hours=1)).new_count == 1, "yesterday's extension is gone"


def test_the_review_limit_caps_new_cards_too(alice, now):
    services.review_settings_update(user=alice, new_per_day=10, max_reviews_per_day=3)
    reviews = [in_review(alice, now - timedelta(weeks=2)) for _ in range(2)]
    for _ in range(5):
        Card.objects.create(user=alice, question=question_make(), due=now)
    today = max(card.due for card in reviews) + timedelta(hours=1)
    start = session(alice, today)
    assert (start.due_count, start.new_count) == (2, 1)
    work_through(alice, today)
    assert session(alice, today + timedelta(hours=2)).stopped_by == "reviews"


def test_a_card_answered_in_the_evening_with_a_one_day_interval_is_due_the_next_morning(alice):
    monday_evening = datetime(2026, 3, 2, 19, 54, tzinfo=UTC)
    card = in_review(alice, monday_evening - timedelta(days=10))
    Card.objects.filter(pk=card.pk).update(due=monday_evening + timedelta(days=1))
    assert session(alice, monday_evening + timedelta(hours=3)).card is None, "not before the rollover"
    assert session(alice, datetime(2026, 3, 3, 4, 0, tzinfo=UTC)).card.pk == card.pk, "the new day starts at 4 am"
    services.review_settings_update(user=alice, rollover_hour=6)
    assert session(alice, datetime(2026, 3, 3, 5, 0, tzinfo=UTC)).card is None, "a later rollover, a later day"


def test_the_rollover_follows_the_learners_time_zone(alice):
    alice.profile.timezone = "Asia/Shanghai"
    alice.profile.save()
    card = in_review(alice, datetime(2026, 2, 1, tzinfo=UTC))
    Card.objects.filter(pk=card.pk).update(due=datetime(2026, 3, 3, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai
    # 20:30 UTC on the 2nd is 04:30 on the 3rd in Shanghai: already the day the card is due.
    assert session(alice, datetime(2026, 3, 2, 20, 30, tzinfo=UTC)).card.pk == card.pk
    assert session(alice, datetime(2026, 3, 2, 19, 30, tzinfo=UTC)).card is None


def test_a_learning_card_due_in_ten_minutes_is_shown_rather_than_all_done(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    rate(card, 3, now)
    assert card.due == now + timedelta(minutes=10)
    waiting = session(alice, now + timedelta(seconds=30))
    assert waiting.card.pk == card.pk and waiting.learning_count == 1
    review = in_review(alice, now - timedelta(weeks=2))
    assert session(alice, now + timedelta(seconds=30)).card.pk == review.pk, "learning ahead only when nothing else"
    rate(review, 3, now + timedelta(seconds=40))
    Card.objects.filter(pk=card.pk).update(due=now + timedelta(hours=2))
    later = session(alice, now + timedelta(minutes=1))
    assert later.card is None and later.later_count == 1


def test_failed_cards_come_first_then_the_least_retrievable_reviews_then_new_cards(alice, now):
    new = Card.objects.create(user=alice, question=question_make(), due=now - timedelta(weeks=4))
    fresh = in_review(alice, now - timedelta(days=12))
    faded = in_review(alice, now - timedelta(weeks=5))
    failed = in_review(alice, now - timedelta(weeks=3))
    today = max(card.due for card in (fresh, faded, failed)) + timedelta(hours=1)
    rate(failed, 1, today - timedelta(minutes=30))
    scheduler = fsrs.Scheduler()
    assert scheduler.get_card_retrievability(
        fsrs.Card.from_dict(faded.fsrs), today
    ) < scheduler.get_card_retrievability(fsrs.Card.from_dict(fresh.fsrs), today)
    assert work_through(alice, today)[:4] == [failed.pk, faded.pk, fresh.pk, new.pk]


def test_new_cards_can_be_mixed_with_reviews(alice, now):
    services.review_settings_update(user=alice, mix_new_with_reviews=True)
    reviews = [in_review(alice, now - timedelta(weeks=2)) for _ in range(4)]
    new = [Card.objects.create(user=alice, question=question_make(), due=now) for _ in range(2)]
    today = max(card.due for card in reviews) + timedelta(hours=1)
    order = work_through(alice, today, rating=4)
    kinds = ["new" if pk in {card.pk for card in new} else "review" for pk in order]
    assert kinds[:6] != ["review"] * 4 + ["new"] * 2 and kinds.count("new") == 2


def show(client, lesson=None):
    page = client.get(reverse("today"), **HTMX).content.decode()
    return page, Card.objects.get(pk=re.search(r'name="card" value="(\d+)"', page).group(1))


def answer(client, page, **data):
    fields = {
        name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1) for name in ("card", "shown_at", "showing")
    }
    return client.post(reverse("today_answer"), {**fields, **data}, **HTMX).content.decode()


def token_of(page):
    return re.search(r'name="token" value="([^"]*)"', page).group(1)


def test_a_quick_right_answer_is_proposed_good_and_a_wrong_one_again(client, alice, now):
    client.force_login(alice)
    Card.objects.create(user=alice, question=question_make(answer="attention"), due=now)
    page, _ = show(client)
    right = answer(client, page, answer="attention")  # within a second: still Good, never Easy
    assert re.search(r'value="3"[^>]*data-proposed', right) and not re.search(r'value="4"[^>]*data-proposed', right)
    wrong = answer(client, page, answer="magic")
    assert re.search(r'value="1"[^>]*data-proposed', wrong)


def test_multiple_choice_options_are_shuffled_at_each_showing_and_graded_as_shown(client, alice, now):
    client.force_login(alice)
    options = ["rank 1", "rank 2", "rank 3", "rank 4"]
    Card.objects.create(user=alice, question=question_make(type="mcq", options=options, answer="rank 2"), due=now)
    orders = set()
    for _ in range(12):
        page, _ = show(client)
        shown = re.findall(r'<span class="option-key">\d</span> (rank \d)', page)
        assert sorted(shown) == options
        orders.add(tuple(shown))
        feedback = answer(client, page, choice=shown.index("rank 2"))
        assert "That is the right option" in feedback
    assert len(orders) > 3, "the right option is not always in the same place"


def test_the_interval_on_each_button_is_the_one_saved_across_many_cards(client, alice, now, settings):
    settings.QUIZZES_FSRS_FUZZING = True
    client.force_login(alice)
    rng = random.Random(7)
    cards = [in_review(alice, now - timedelta(days=rng.randint(30, 400))) for _ in range(40)]
    for card in cards:
        Card.objects.filter(pk=card.pk).update(due=now - timedelta(days=rng.randint(0, 30)))
    for _ in cards:
        page, card = show(client)
        feedback = answer(client, page, answer="token")
        promised = signing.loads(token_of(feedback), salt=FEEDBACK_SALT)["outcomes"]
        rating = rng.choice([1, 2, 3, 4])
        for value, outcome in promised.items():
            label = scheduling.interval_label(
                datetime.fromisoformat(outcome["due"])
                - datetime.fromisoformat(signing.loads(token_of(feedback), salt=FEEDBACK_SALT)["at"])
            )
            assert re.search(
                rf'value="{value}"[^>]*>\s*<span class="rating-label">[^<]*</span>\s*'
                rf'<span class="rating-interval">{re.escape(label)}</span>',
                feedback,
            )
        client.post(reverse("today_rate"), {"token": token_of(feedback), "rating": str(rating)}, **HTMX)
        card.refresh_from_db()
        assert card.due == datetime.fromisoformat(promised[str(rating)]["due"])


def test_a_preview_and_the_review_draw_the_same_fuzz(alice, now, settings):
    settings.QUIZZES_FSRS_FUZZING = True
    rng = random.Random(3)
    review_settings = services.review_settings_for(user=alice)
    for _ in range(60):
        card = in_review(alice, now - timedelta(days=rng.randint(20, 300)))
        at = card.due + timedelta(days=rng.randint(0, 40))
        preview = services.review_outcomes(card=card, review_settings=review_settings, now=at)
        rating = rng.choice([2, 3, 4])
        rate(card, rating, at)
        assert card.due == datetime.fromisoformat(preview[rating]["due"])


def test_a_card_rated_in_another_tab_is_not_rated_again(client, alice, now):
    client.force_login(alice)
    for _ in range(2):
        Card.objects.create(user=alice, question=question_make(), due=now)
    page, card = show(client)
    first_tab, second_tab = answer(client, page, answer="token"), answer(client, page, answer="nope")
    client.post(reverse("today_rate"), {"token": token_of(first_tab), "rating": "3"}, **HTMX)
    again = client.post(reverse("today_rate"), {"token": token_of(first_tab), "rating": "3"}, **HTMX).content.decode()
    assert "another tab" not in again, "the same click twice is just counted once"
    late = client.post(reverse("today_rate"), {"token": token_of(second_tab), "rating": "1"}, **HTMX).content.decode()
    assert "This card was already answered in another tab." in late
    assert 'name="card"' in late, "and the next card is shown"
    assert list(ReviewLog.objects.filter(card=card).values_list("rating", flat=True)) == [3]


def test_undo_reaches_only_the_last_answer_of_the_day_and_only_once(alice, now):
    cards = [Card.objects.create(user=alice, question=question_make(), due=now) for _ in range(2)]
    rate(cards[0], 3, now)
    rate(cards[1], 3, now + timedelta(minutes=1))
    assert services.review_undo(user=alice, now=now + timedelta(minutes=2)).pk == cards[1].pk
    assert services.review_undo(user=alice, now=now + timedelta(minutes=3)) is None, "one undo, not a history"
    cards[1].refresh_from_db()
    rate(cards[1], 3, now + timedelta(minutes=4))
    assert services.review_undo(user=alice, now=now + timedelta(days=1)) is None, "yesterday's answer stands"
    cards[1].refresh_from_db()
    assert cards[1].reps == 1


def test_a_learner_over_ninety_days_keeps_about_the_retention_they_asked_for(alice, now):
    """The real queue, with recall drawn from each card's true retrievability under the FSRS model."""
    services.review_settings_update(user=alice, new_per_day=8)
    for _ in range(120):
        Card.objects.create(user=alice, question=question_make(), due=now)
    scheduler = fsrs.Scheduler()
    draws = random.Random(2026)
    day = now.replace(hour=18)
    for _ in range(90):
        at = day + timedelta(minutes=draws.randint(0, 180))
        for _ in range(300):
            card = session(alice, at).card
            if card is None:
                break
            card = Card.objects.get(pk=card.pk)
            recalled = card.reps == 0 or draws.random() < scheduler.get_card_retrievability(
                fsrs.Card.from_dict(card.fsrs), at
            )
            rate(card, 3 if recalled else 1, at)
            at += timedelta(seconds=draws.randint(5, 40))
        day += timedelta(days=1)
    matured = ReviewLog.objects.filter(user=alice, state_before=fsrs.State.Review.value)
    retention = matured.exclude(rating=1).count() / matured.count()
    assert matured.count() > 500
    assert 0.85 <= retention <= 0.95

"""The nightly optimiser, fed weeks of a simulated learner's answers recorded through the real review service."""

import random
from datetime import UTC, datetime, timedelta

import fsrs
import pytest

from quizzes import services, tasks
from quizzes.models import Card, OptimisationRun, ReviewLog, ReviewSettings
from quizzes.selectors import fsrs_training_items

from .conftest import question_make

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def forgetful_scheduler() -> fsrs.Scheduler:
    """The simulated learner's real memory: FSRS with first stabilities a third of the defaults', so the default
    parameters promise more recall than this learner has."""
    parameters = list(fsrs.Scheduler().parameters)
    parameters[:4] = [value / 3 for value in parameters[:4]]
    return fsrs.Scheduler(parameters=tuple(parameters), enable_fuzzing=False)


def simulate(user, *, days: int, cards: int = 60, new_per_day: int = 6, seed: int = 3) -> None:
    """Every evening the learner answers what is due (and relearns failed cards in the same sitting), recall drawn
    from their real memory. The clock moves one minute per answer."""
    rng = random.Random(seed)
    memory = forgetful_scheduler()
    truth: dict[int, fsrs.Card] = {}
    deck = [Card.objects.create(user=user, question=question_make(), due=START) for _ in range(cards)]
    for day in range(days):
        clock = START + timedelta(days=day, minutes=rng.randint(0, 120))
        introduced = [card for card in deck if card.pk not in truth][:new_per_day]
        for card in introduced:
            truth[card.pk] = fsrs.Card(card_id=card.pk, due=clock)
        for _ in range(400):
            due = sorted((c for c in deck if c.pk in truth and c.due <= clock), key=lambda c: c.due)
            if not due:
                soon = [c.due for c in deck if c.pk in truth and c.due <= clock + timedelta(minutes=30)]
                if not soon:
                    break
                clock = max(clock, min(soon))
                continue
            card = due[0]
            recalled = truth[card.pk].last_review is not None and rng.random() < memory.get_card_retrievability(
                truth[card.pk], clock
            )
            rating = rng.choices([2, 3, 4], weights=[1, 8, 1])[0] if recalled else 1
            truth[card.pk], _log = memory.review_card(truth[card.pk], fsrs.Rating(rating), review_datetime=clock)
            card.refresh_from_db()
            services.review_record(
                card=card,
                rating=rating,
                answered_at=clock,
                duration_ms=5000,
                answer="x",
                correct=rating > 1,
                idempotency_key=f"{card.pk}-{clock.isoformat()}",
            )
            clock += timedelta(minutes=1)


def test_a_learner_with_little_history_keeps_the_defaults_and_the_run_says_why(alice):
    simulate(alice, days=5, cards=10)
    run = services.fsrs_parameters_optimise(user=alice, now=START + timedelta(days=5))
    assert not run.adopted and run.reason.startswith("too little history")
    assert ReviewSettings.objects.get(user=alice).fsrs_parameters == []
    assert not tasks.fsrs_parameters_optimise.run(alice.pk)


def test_after_weeks_of_reviews_better_parameters_are_adopted_and_every_card_is_replayed_under_them(alice):
    simulate(alice, days=75)
    night = START + timedelta(days=75, hours=6)
    run = services.fsrs_parameters_optimise(user=alice, now=night)
    assert run.reviews >= services.MIN_REVIEWS_FOR_OPTIMISATION, run.reason
    assert run.adopted, run.reason
    assert run.new_log_loss < run.current_log_loss and run.new_rmse is not None and run.current_rmse is not None
    review_settings = ReviewSettings.objects.get(user=alice)
    assert review_settings.fsrs_parameters == run.parameters and review_settings.parameters_optimised_at == night
    assert run.cards_recomputed == Card.objects.filter(user=alice, reps__gt=0).count() > 0

    # Each card now holds exactly what the new parameters make of its answers, and its due date agrees.
    scheduler = fsrs.Scheduler(parameters=tuple(run.parameters), enable_fuzzing=False)
    for card in Card.objects.filter(user=alice, reps__gt=0):
        state = fsrs.Card(card_id=card.pk, due=START)
        for log in ReviewLog.objects.filter(card=card).order_by("reviewed_at", "id"):
            state, _log = scheduler.review_card(state, fsrs.Rating(log.rating), review_datetime=log.reviewed_at)
        assert card.fsrs["stability"] == pytest.approx(state.stability)
        assert card.fsrs["difficulty"] == pytest.approx(state.difficulty)
        assert card.due == state.due == datetime.fromisoformat(card.fsrs["due"])

    # The next night, with nothing new to learn from, the fit is no better than what is in use: nothing changes.
    again = services.fsrs_parameters_optimise(user=alice, now=night + timedelta(days=1))
    assert not again.adopted and "better" in again.reason
    assert ReviewSettings.objects.get(user=alice).fsrs_parameters == run.parameters
    assert OptimisationRun.objects.filter(user=alice).count() == 2


def test_training_counts_elapsed_days_in_the_learners_local_day_with_the_rollover(alice):
    alice.profile.timezone = "Asia/Shanghai"
    alice.profile.save()
    card = Card.objects.create(user=alice, question=question_make(), due=START)
    # Shanghai is UTC+8. 23:30 and 07:00 the next morning: one day apart locally, the same UTC date.
    # 20:00 and 03:00 the next night: before the 4 am rollover, so the same day.
    moments = [
        datetime(2026, 1, 5, 15, 30, tzinfo=UTC),
        datetime(2026, 1, 5, 23, 0, tzinfo=UTC),
        datetime(2026, 1, 6, 12, 0, tzinfo=UTC),
        datetime(2026, 1, 6, 19, 0, tzinfo=UTC),
    ]
    for moment in moments:
        card.refresh_from_db()
        services.review_record(
            card=card, rating=3, answered_at=moment, duration_ms=4000, correct=True, idempotency_key=moment.isoformat()
        )
    items = fsrs_training_items(user=alice)
    # FSRSReview exposes its fields only through its repr.
    assert [repr(review) for item in items for review in item.reviews] == [
        "FSRSReview { rating: 3, delta_t: 0 }",
        "FSRSReview { rating: 3, delta_t: 1 }",
    ]

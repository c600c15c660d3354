"""FSRS through the fsrs package: one Scheduler per learner's settings, cards kept as the package's dicts."""

import random
import threading
from datetime import date, datetime, time, timedelta, tzinfo

import fsrs
import fsrs.scheduler
from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Card, ReviewLog, ReviewSettings

LEECH_LAPSES = 8
# As in Anki: with nothing else left, a learning card due within this long is shown rather than "All done".
LEARN_AHEAD = timedelta(minutes=20)
# The fsrs package draws its fuzz from the module-level random(); the lock keeps one showing's seeded draws from
# interleaving with another thread's.
_fuzz_lock = threading.Lock()


def scheduler_for(review_settings: ReviewSettings) -> fsrs.Scheduler:
    kwargs = {
        "desired_retention": review_settings.desired_retention,
        "enable_fuzzing": getattr(django_settings, "QUIZZES_FSRS_FUZZING", True),
    }
    if review_settings.fsrs_parameters:
        kwargs["parameters"] = tuple(review_settings.fsrs_parameters)
    return fsrs.Scheduler(**kwargs)


def fsrs_card_of(card: Card) -> fsrs.Card:
    if card.fsrs:
        return fsrs.Card.from_dict(card.fsrs)
    # Pass the id: without one the package makes it from the clock and sleeps a millisecond per card.
    return fsrs.Card(card_id=card.pk or 0, due=card.due)


def rating_propose(*, correct: bool) -> int:
    """Good for a right answer, Again for a wrong one. A quick answer may be a lucky guess, so Hard and Easy are
    the learner's own call, never proposed from the answer time."""
    return ReviewLog.Rating.GOOD if correct else ReviewLog.Rating.AGAIN


def options_order(*, count: int, seed: int | None) -> list[int]:
    """The order a multiple-choice question's options are shown in, one per showing: fixed by the showing's seed."""
    order = list(range(count))
    if seed is not None:
        random.Random(seed).shuffle(order)
    return order


def outcomes(*, card: Card, scheduler: fsrs.Scheduler, now: datetime, seed: int) -> dict[int, dict]:
    """The card's FSRS state after each of the four ratings at `now`, worked out once when the answer is shown.

    The buttons show these intervals and the rating saves the chosen one as is, so what the learner sees is what
    is saved. The fuzz is drawn from `seed`, so the same showing always gives the same four outcomes.
    """
    current = fsrs_card_of(card)
    draws = random.Random(seed)
    with _fuzz_lock:
        original = fsrs.scheduler.random
        fsrs.scheduler.random = draws.random
        try:
            return {
                rating.value: scheduler.review_card(current, rating, review_datetime=now)[0].to_dict()
                for rating in fsrs.Rating
            }
        finally:
            fsrs.scheduler.random = original


def interval_label(interval: timedelta) -> str:
    minutes = interval.total_seconds() / 60
    if minutes < 60:
        n = max(1, round(minutes))
        return ngettext("%(n)d min", "%(n)d min", n) % {"n": n}
    if minutes < 60 * 24:
        n = round(minutes / 60)
        return ngettext("%(n)d h", "%(n)d h", n) % {"n": n}
    days = interval.days + (1 if interval.seconds >= 12 * 3600 else 0)
    if days < 31:
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if days < 365:
        n = round(days / 30)
        return ngettext("%(n)d month", "%(n)d months", n) % {"n": n}
    return _("%(n).1f yr") % {"n": days / 365}


DEFAULT_ROLLOVER_HOUR = 4


def rollover_hour_of(review_settings: ReviewSettings | None) -> int:
    # The setting arrives with the queue work; until then every learner's day turns at 4 am, as in Anki.
    return getattr(review_settings, "rollover_hour", DEFAULT_ROLLOVER_HOUR)


def learner_day(moment: datetime, *, zone: tzinfo, rollover_hour: int = DEFAULT_ROLLOVER_HOUR) -> date:
    """The learner's day a moment belongs to: local date, with hours before the rollover counting as the day before."""
    return (moment.astimezone(zone) - timedelta(hours=rollover_hour)).date()


def learner_day_end(now: datetime, *, zone: tzinfo, rollover_hour: int = DEFAULT_ROLLOVER_HOUR) -> datetime:
    """When the learner's current day ends (the next rollover), as an aware datetime; right across DST changes."""
    next_day = learner_day(now, zone=zone, rollover_hour=rollover_hour) + timedelta(days=1)
    return datetime.combine(next_day, time(rollover_hour), tzinfo=zone)

"""FSRS through the fsrs package: one Scheduler per learner's settings, cards kept as the package's dicts."""

from datetime import date, datetime, time, timedelta, tzinfo

import fsrs
from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Card, ReviewLog, ReviewSettings

LEECH_LAPSES = 8
# Answer-time thresholds for proposing a rating; a short free answer takes longer to type than a click.
FAST_MS = {"mcq": 6_000, "cloze": 8_000, "free_text": 20_000}
SLOW_MS = {"mcq": 20_000, "cloze": 25_000, "free_text": 60_000}


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


def rating_propose(*, correct: bool, duration_ms: int, question_type: str) -> int:
    if not correct:
        return ReviewLog.Rating.AGAIN
    if duration_ms >= SLOW_MS.get(question_type, 20_000):
        return ReviewLog.Rating.HARD
    if duration_ms <= FAST_MS.get(question_type, 6_000):
        return ReviewLog.Rating.EASY
    return ReviewLog.Rating.GOOD


def interval_previews(*, card: Card, scheduler: fsrs.Scheduler, now: datetime) -> dict[int, timedelta]:
    current = fsrs_card_of(card)
    return {
        rating.value: scheduler.review_card(current, rating, review_datetime=now)[0].due - now for rating in fsrs.Rating
    }


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

"""Reads: the learner's next card and counts, their progress, training data for the optimiser."""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import fsrs
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from content.models import Concept

from . import scheduling
from .models import Card, Question, ReviewLog, ReviewSettings

CANDIDATES = 12
# Large columns a review never shows: loading them for 40 candidates would dominate the query.
HEAVY_FIELDS = ("question__section__body", "question__section__lesson__questions",
                "question__section__lesson__citations", "question__section__lesson__course__description",
                "question__section__lesson__course__description_zh")


def learner_zone(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.profile.timezone)
    except Exception:  # noqa: BLE001 — no profile or an unknown zone name: the learner lives on UTC
        return zoneinfo.ZoneInfo("UTC")


def day_start(*, user, now: datetime) -> datetime:
    """Midnight of the learner's current local day, in UTC: daily limits count from here."""
    local = now.astimezone(learner_zone(user))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def card_for_user(*, user, card_id: int) -> Card:
    """Someone else's card is a 404, never a 403: its existence is not the asker's business."""
    cards = Card.objects.select_related("question__section__lesson__course").defer(*HEAVY_FIELDS)
    return get_object_or_404(cards, pk=card_id,
                             user=user)


def questions_visible_to(*, user):
    """Questions a learner may see: the approved shared ones, and their own (tutor-made cards are private)."""
    shared = Q(owner__isnull=True, status=Question.Status.APPROVED)
    if user is None or not user.is_authenticated:
        return Question.objects.filter(shared)
    return Question.objects.filter(shared | Q(owner=user))


def question_for_user(*, user, question_id) -> Question | None:
    """One question by id, or None when it does not exist or is another learner's private card."""
    try:
        question_id = int(question_id)
    except (TypeError, ValueError):
        return None
    return questions_visible_to(user=user).filter(pk=question_id).first()


@dataclass
class Session:
    card: Card | None
    due_count: int = 0
    new_count: int = 0
    reviewed_today: int = 0
    new_today: int = 0
    concept_ids: list = field(default_factory=list)


def session_next(*, user, review_settings: ReviewSettings, now: datetime, lesson_id: int | None = None) -> Session:
    """The learner's next card: due cards first (oldest due first), then new cards up to the day's limit.

    Siblings (another card on one of the same concepts) already seen today wait for another day. A session started
    from a lesson ("Quiz me on this lesson") is the learner asking for those cards now, so it ignores both limits.
    """
    start = day_start(user=user, now=now)
    # One query for today's answers: the counts against the daily limits and the concepts already seen.
    touched: dict[int, set[int]] = defaultdict(set)
    reviews_today, new_today = set(), set()
    for log_id, card_id, state_before, concept_id in ReviewLog.objects.filter(
        user=user, reviewed_at__gte=start, undone_at__isnull=True
    ).values_list("id", "card_id", "state_before", "card__question__concepts"):
        if state_before == fsrs.State.Review.value:
            reviews_today.add(log_id)
        elif state_before == 0:
            new_today.add(log_id)
        if concept_id is not None:
            touched[concept_id].add(card_id)
    done = {"reviews": len(reviews_today), "new": len(new_today)}

    cards = Card.objects.filter(user=user, question__status=Question.Status.APPROVED)
    if lesson_id is not None:
        cards = cards.filter(question__section__lesson_id=lesson_id)
    counts = cards.aggregate(
        due=Count("id", filter=Q(reps__gt=0, due__lte=now)), new=Count("id", filter=Q(reps=0))
    )
    session = Session(card=None, due_count=counts["due"], new_count=counts["new"],
                      reviewed_today=done["reviews"], new_today=done["new"])
    focused = lesson_id is not None
    review_budget = review_settings.max_reviews_per_day - done["reviews"]
    new_budget = review_settings.new_per_day - done["new"]
    # A question on screen shows only its lesson's title; the course is needed later, for the feedback's link.
    candidates = cards.select_related("question__section__lesson").defer(
        *(name for name in HEAVY_FIELDS if "__course__" not in name))

    def first_fitting(queryset):
        # The concepts come in a second small query: aggregating them in the first one would group and sort every
        # candidate card of the learner before the LIMIT could apply.
        batch = list(queryset[:CANDIDATES])
        if not batch:
            return None
        concept_ids = defaultdict(list)
        for question_id, concept_id in Question.concepts.through.objects.filter(
            question_id__in=[card.question_id for card in batch]
        ).values_list("question_id", "concept_id"):
            concept_ids[question_id].append(concept_id)
        for card in batch:
            card.concept_ids = concept_ids[card.question_id]
            in_review = card.fsrs.get("state") == fsrs.State.Review.value
            if in_review and review_budget <= 0 and not focused:
                continue
            sibling_seen = any(touched.get(c, set()) - {card.id} for c in card.concept_ids)
            if sibling_seen and not focused:
                continue
            return card
        return None

    # The counts above already say whether anything is due: skip that query when nothing is.
    if counts["due"]:
        session.card = first_fitting(candidates.filter(reps__gt=0, due__lte=now).order_by("due", "id"))
    if session.card is None and (new_budget > 0 or focused):
        session.card = first_fitting(candidates.filter(reps=0).order_by(
            "question__section__lesson__order", "question__section__position", "question_id"))
    return session


def progress_for(*, user, review_settings: ReviewSettings, now: datetime, days: int = 30) -> dict:
    zone = learner_zone(user)
    today_local = now.astimezone(zone).date()
    logs = ReviewLog.objects.filter(user=user, undone_at__isnull=True)

    per_day = dict(
        logs.filter(reviewed_at__gte=day_start(user=user, now=now) - timedelta(days=days - 1))
        .annotate(day=TruncDate("reviewed_at", tzinfo=zone)).values("day").annotate(n=Count("id"))
        .values_list("day", "n")
    )
    review_days = set(
        logs.filter(reviewed_at__gte=now - timedelta(days=400))
        .annotate(day=TruncDate("reviewed_at", tzinfo=zone)).values_list("day", flat=True).distinct()
    )
    streak, day = 0, today_local if today_local in review_days else today_local - timedelta(days=1)
    while day in review_days:
        streak, day = streak + 1, day - timedelta(days=1)

    # True retention: how often a card in the review state was remembered (anything but Again), as Anki measures it.
    matured = logs.filter(reviewed_at__gte=now - timedelta(days=days), state_before=fsrs.State.Review.value).aggregate(
        total=Count("id"), passed=Count("id", filter=~Q(rating=ReviewLog.Rating.AGAIN))
    )
    retention = matured["passed"] / matured["total"] if matured["total"] else None

    cards = Card.objects.filter(user=user, question__status=Question.Status.APPROVED)
    forecast = defaultdict(int)
    for due in cards.filter(reps__gt=0, due__lt=now + timedelta(days=days)).values_list("due", flat=True):
        forecast[max(due.astimezone(zone).date(), today_local)] += 1

    scheduler = scheduling.scheduler_for(review_settings)
    mastery_sum: dict[int, float] = defaultdict(float)
    mastery_n: dict[int, int] = defaultdict(int)
    for card in cards.annotate(concept_ids=ArrayAgg("question__concepts__id", filter=Q(question__concepts__isnull=False),
                                                    default=[])).only("id", "fsrs", "due", "reps"):
        r = scheduler.get_card_retrievability(fsrs.Card.from_dict(card.fsrs), now) if card.reps and card.fsrs else 0.0
        for concept_id in card.concept_ids:
            mastery_sum[concept_id] += r
            mastery_n[concept_id] += 1
    concepts = Concept.objects.in_bulk(list(mastery_n))
    mastery = sorted(
        ((concepts[c], mastery_sum[c] / mastery_n[c]) for c in mastery_n if c in concepts), key=lambda pair: pair[1]
    )
    return {
        "streak": streak,
        "reviews_per_day": [(today_local - timedelta(days=i), per_day.get(today_local - timedelta(days=i), 0))
                            for i in range(days - 1, -1, -1)],
        "retention": retention,
        "retention_reviews": matured["total"],
        "forecast": [(today_local + timedelta(days=i), forecast.get(today_local + timedelta(days=i), 0))
                     for i in range(days)],
        "mastery": mastery,
        "total_reviews": logs.count(),
    }


def fsrs_training_items(*, user) -> list:
    """The learner's history as fsrs-rs items: for each review after a card's first, the history up to it."""
    import fsrs_rs_python

    history: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for card_id, rating, reviewed_at in (
        ReviewLog.objects.filter(user=user, undone_at__isnull=True).order_by("card_id", "reviewed_at", "id")
        .values_list("card_id", "rating", "reviewed_at")
    ):
        history[card_id].append((rating, reviewed_at.date()))
    items = []
    for reviews in history.values():
        steps, previous = [], None
        for rating, day in reviews:
            delta_t = (day - previous).days if previous else 0
            steps.append(fsrs_rs_python.FSRSReview(rating, delta_t))
            previous = day
            if len(steps) >= 2 and delta_t > 0:
                items.append(fsrs_rs_python.FSRSItem(list(steps)))
    return items


def users_with_enough_reviews(*, minimum: int) -> list[int]:
    return list(
        ReviewLog.objects.filter(undone_at__isnull=True).values("user_id").annotate(n=Count("id"))
        .filter(n__gte=minimum).values_list("user_id", flat=True)
    )


def export_rows(*, user):
    return (
        Card.objects.filter(user=user).select_related("question__section__lesson").order_by("question_id")
    )

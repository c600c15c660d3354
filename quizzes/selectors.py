"""Reads: the learner's next card and counts, their progress, training data for the optimiser, and the aggregates
across learners that the team dashboard shows."""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import fsrs
from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from content.models import Concept, Lesson, Section
from llm.embeddings import get_embedder

from . import scheduling
from .models import Card, Question, ReviewLog, ReviewSettings
from .verification import check_duplicate, embedding_text, question_problems

# Large columns a review never shows: loading them for 40 candidates would dominate the query.
HEAVY_FIELDS = (
    "question__section__body",
    "question__section__lesson__questions",
    "question__section__lesson__citations",
    "question__section__lesson__course__description",
    "question__section__lesson__course__description_zh",
)


def learner_zone(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.profile.timezone)
    except Exception:  # noqa: BLE001 — no profile or an unknown zone name: the learner lives on UTC
        return zoneinfo.ZoneInfo("UTC")


def learner_day(*, user, now: datetime, rollover_hour: int) -> date:
    """The learner's day `now` belongs to: before the rollover hour (4 am by default) it is still yesterday."""
    return scheduling.learner_day(now, zone=learner_zone(user), rollover_hour=rollover_hour)


def day_start(*, user, now: datetime, rollover_hour: int) -> datetime:
    """When the learner's current day began, in UTC: daily limits count from here. session_next's SQL agrees."""
    day = learner_day(user=user, now=now, rollover_hour=rollover_hour)
    return datetime.combine(day, time(rollover_hour), tzinfo=learner_zone(user)).astimezone(UTC)


def card_for_user(*, user, card_id: int) -> Card:
    """Someone else's card is a 404, never a 403: its existence is not the asker's business.

    The learner's review settings come in the same query (card.user.review_settings), for the answer's intervals.
    """
    cards = Card.objects.select_related("question__section__lesson__course", "user__review_settings").defer(
        *HEAVY_FIELDS
    )
    return get_object_or_404(cards, pk=card_id, user=user)


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
    """The next card and what the rest of today holds, under the limits: the counts are exactly what the session
    will still offer (siblings of a card answered later aside)."""

    card: Card | None
    learning_count: int = 0
    due_count: int = 0
    new_count: int = 0
    reviewed_today: int = 0
    new_today: int = 0
    can_undo: bool = False
    # Due today but held back by a limit, and which limit stopped the session ("reviews" or "new"), if one did.
    reviews_held: int = 0
    new_held: int = 0
    stopped_by: str | None = None
    # Learning cards due later today, beyond the learn-ahead window, and when the first of them is.
    later_count: int = 0
    later_at: datetime | None = None


# The whole queue in one statement: the learner's settings and day (rollover hour, time zone), today's answers,
# every card eligible now, the counts under the limits and the next card with what the page shows of it.
#   learning / relearning cards: due now first; within the learn-ahead window only when nothing else is left;
#   reviews due before the next rollover, least retrievable first (FSRS-6 retrievability at now, as in
#   CONCEPT_RETRIEVABILITY_SQL below); new cards in course order, after the reviews or spread among them.
# The review limit caps reviews and new cards together, as in Anki; learning steps are never limited.
# MATERIALIZED keeps each step planned on its own: inlined into one join tree, planning took longer than running.
SESSION_SQL = """
    WITH {write}, learner AS MATERIALIZED (
      SELECT coalesce(rs.new_per_day, %(new_per_day)s) AS new_per_day,
             coalesce(rs.max_reviews_per_day, %(max_reviews)s) AS max_reviews,
             coalesce(rs.rollover_hour, %(rollover)s) AS rollover, coalesce(rs.mix_new_with_reviews, false) AS mix,
             coalesce((rs.fsrs_parameters->>20)::float8, %(w20)s) AS w20, rs.extended_on,
             coalesce(rs.extra_reviews, 0) AS extra_reviews, coalesce(rs.extra_new, 0) AS extra_new,
             coalesce(p.timezone, 'UTC') AS zone
      FROM (SELECT 1) one
        LEFT JOIN quizzes_reviewsettings rs ON rs.user_id = %(user)s
        LEFT JOIN {profile} p ON p.user_id = %(user)s
    ), day AS MATERIALIZED (
      SELECT learner.*,
             date_trunc('day', (%(now)s::timestamptz AT TIME ZONE zone) - make_interval(hours => rollover)) AS local_day
      FROM learner
    ), bounds AS MATERIALIZED (
      SELECT day.*, (local_day + make_interval(hours => rollover)) AT TIME ZONE zone AS day_start,
             (local_day + interval '1 day' + make_interval(hours => rollover)) AT TIME ZONE zone AS day_end,
             CASE WHEN extended_on = local_day::date THEN extra_reviews ELSE 0 END AS more_reviews,
             CASE WHEN extended_on = local_day::date THEN extra_new ELSE 0 END AS more_new
      FROM day
    ), answered AS MATERIALIZED (
      SELECT r.id, r.card_id, r.state_before, r.reviewed_at, r.undone_at
      FROM quizzes_reviewlog r CROSS JOIN bounds b WHERE r.user_id = %(user)s AND r.reviewed_at >= b.day_start
      UNION ALL SELECT id, card_id, state_before, reviewed_at, NULL::timestamptz FROM logged
    ), done AS MATERIALIZED (
      SELECT count(*) FILTER (WHERE undone_at IS NULL AND state_before = 2) AS reviews,
             count(*) FILTER (WHERE undone_at IS NULL AND state_before = 0) AS new,
             coalesce((SELECT undone_at IS NULL FROM answered ORDER BY reviewed_at DESC, id DESC LIMIT 1), false)
               AS can_undo
      FROM answered
    ), touched AS MATERIALIZED (
      SELECT DISTINCT qc.concept_id FROM answered a JOIN quizzes_card c ON c.id = a.card_id
        JOIN quizzes_question_concepts qc ON qc.question_id = c.question_id WHERE a.undone_at IS NULL
    ), mine AS MATERIALIZED (
      SELECT c.id, coalesce(u.due, c.due) AS due, c.question_id, coalesce(u.fsrs, c.fsrs) AS fsrs,
             CASE WHEN coalesce(u.reps, c.reps) = 0 OR coalesce(u.fsrs, c.fsrs)->>'state' IS NULL THEN 'new'
                  WHEN (coalesce(u.fsrs, c.fsrs)->>'state')::int = 2 THEN 'review' ELSE 'learning' END AS kind,
             l."order" AS lesson_order, s.position
      FROM quizzes_card c LEFT JOIN updated u ON u.id = c.id JOIN quizzes_question q ON q.id = c.question_id
        LEFT JOIN content_section s ON s.id = q.section_id LEFT JOIN content_lesson l ON l.id = s.lesson_id
      WHERE c.user_id = %(user)s AND q.status = 'approved' AND NOT c.suspended
        AND (%(lesson)s::bigint IS NULL OR s.lesson_id = %(lesson)s::bigint)
    ), eligible AS MATERIALIZED (
      SELECT m.*, CASE WHEN m.kind = 'review' THEN power(
               1 + (power(0.9, 1.0 / -b.w20) - 1) * greatest(0, floor(extract(epoch FROM
                 (%(now)s::timestamptz - (m.fsrs->>'last_review')::timestamptz)) / 86400))
                 / (m.fsrs->>'stability')::float8, -b.w20) END AS r
      FROM mine m CROSS JOIN bounds b
      WHERE CASE m.kind WHEN 'new' THEN true WHEN 'review' THEN m.due < b.day_end ELSE m.due <= %(ahead)s END
        -- Siblings: a new or review card on a concept already answered today waits for another day.
        -- Uncorrelated, so it is hashed once rather than probed per card.
        AND (%(focused)s OR m.kind = 'learning' OR m.question_id NOT IN (
              SELECT qc.question_id FROM quizzes_question_concepts qc
              WHERE qc.concept_id IN (SELECT concept_id FROM touched)))
    ), counts AS MATERIALIZED (
      SELECT count(*) FILTER (WHERE kind = 'learning') AS learning,
             count(*) FILTER (WHERE kind = 'review') AS reviews_due,
             count(*) FILTER (WHERE kind = 'new') AS new_available,
             (SELECT count(*) FROM mine CROSS JOIN bounds b
               WHERE kind = 'learning' AND due > %(ahead)s AND due < b.day_end) AS later_count,
             (SELECT min(due) FROM mine CROSS JOIN bounds b
               WHERE kind = 'learning' AND due > %(ahead)s AND due < b.day_end) AS later_at
      FROM eligible
    ), budget AS MATERIALIZED (
      SELECT counts.*, done.reviews AS reviews_done, done.new AS new_done, done.can_undo,
             greatest(0, b.max_reviews + b.more_reviews - done.reviews - done.new) AS total_left,
             greatest(0, b.new_per_day + b.more_new - done.new) AS new_left, b.mix
      FROM counts CROSS JOIN done CROSS JOIN bounds b
    ), offer AS MATERIALIZED (
      SELECT budget.*, CASE WHEN %(focused)s THEN reviews_due ELSE least(reviews_due, total_left) END AS review_offer
      FROM budget
    ), plan AS MATERIALIZED (
      SELECT offer.*, CASE WHEN %(focused)s THEN new_available
                           ELSE least(new_available, new_left, total_left - review_offer) END AS new_offer
      FROM offer
    ), pick AS MATERIALIZED (
      SELECT e.id FROM eligible e CROSS JOIN plan p
      WHERE e.kind = 'learning' OR (e.kind = 'review' AND p.review_offer > 0) OR (e.kind = 'new' AND p.new_offer > 0)
      ORDER BY CASE WHEN e.kind = 'learning' AND e.due <= %(now)s THEN 0
                    WHEN e.kind = 'new' AND p.mix AND p.review_offer > 0 AND (p.reviews_done + p.new_done)
                         %% greatest(1, (p.review_offer + p.new_offer) / nullif(p.new_offer, 0))
                         = greatest(1, (p.review_offer + p.new_offer) / nullif(p.new_offer, 0)) - 1 THEN 1
                    WHEN e.kind = 'review' THEN 2 WHEN e.kind = 'new' THEN 3 ELSE 4 END,
               CASE WHEN e.kind = 'learning' THEN e.due END, e.r, e.lesson_order, e.position, e.question_id, e.id
      LIMIT 1
    )
    SELECT {write_result}, p.learning, p.review_offer, p.new_offer, p.reviews_due, p.new_available, p.total_left,
           p.new_left, p.reviews_done, p.new_done, p.can_undo, p.later_count, p.later_at, {columns}
    FROM plan p LEFT JOIN pick ON true LEFT JOIN quizzes_card c ON c.id = pick.id
      LEFT JOIN quizzes_question q ON q.id = c.question_id LEFT JOIN content_section s ON s.id = q.section_id
      LEFT JOIN content_lesson l ON l.id = s.lesson_id
"""
# Without a rating to record first, the statement's write steps are empty.
NO_WRITE = """
    updated AS (SELECT NULL::bigint AS id, NULL::jsonb AS fsrs, NULL::timestamptz AS due, NULL::int AS reps
                WHERE false),
    logged AS (SELECT NULL::bigint AS id, NULL::bigint AS card_id, NULL::int AS state_before,
                      NULL::timestamptz AS reviewed_at WHERE false)
"""

# What the question step shows of a card, loaded with it: all of the card and question, the section and lesson
# without their long text.
SHOWN_FIELDS = (
    ("c", Card, None),
    ("q", Question, None),
    ("s", Section, {"body"}),
    ("l", Lesson, {"summary", "citations", "questions"}),
)


def _shown_fields():
    return [
        (alias, model, [f for f in model._meta.concrete_fields if f.name not in (skip or ())])
        for alias, model, skip in SHOWN_FIELDS
    ]


def session_sql(*, write: str = NO_WRITE, write_result: str = "NULL, NULL, NULL") -> str:
    """The queue's statement; `write` may put a rating's `updated` and `logged` steps in front (review_record_and_next),
    whose results the queue then counts as done, and `write_result` its three result columns."""
    # The time zone lives on the learner's profile, an app above this one: reached through the user model's
    # reverse accessor, so this module names no app to its right.
    profile = get_user_model()._meta.get_field("profile").related_model._meta.db_table
    columns = ", ".join(f'{alias}."{f.column}"' for alias, _, fields in _shown_fields() for f in fields)
    return SESSION_SQL.format(
        profile=connection.ops.quote_name(profile), columns=columns, write=write, write_result=write_result
    )


def _hydrate(model, fields, values):
    """A model instance from raw columns, as the ORM would build it (JSON decoded), the other fields deferred."""
    values = [
        f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
        for f, v in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def session_params(*, user_id: int, now: datetime, lesson_id: int | None) -> dict:
    defaults = {
        name: ReviewSettings._meta.get_field(field_name).default
        for name, field_name in (
            ("new_per_day", "new_per_day"),
            ("max_reviews", "max_reviews_per_day"),
            ("rollover", "rollover_hour"),
        )
    }
    return {
        **defaults,
        "user": user_id,
        "now": now,
        "ahead": now + scheduling.LEARN_AHEAD,
        "lesson": lesson_id,
        "focused": lesson_id is not None,
        "w20": _fsrs_default_w20(),
    }


def session_next(*, user, now: datetime, lesson_id: int | None = None) -> Session:
    """The learner's next card and the counts of what today still holds, in one query.

    A session started from a lesson ("Quiz me on this lesson") is the learner asking for those cards now, so it
    ignores the limits and siblings.
    """
    with connection.cursor() as cursor:
        cursor.execute(session_sql(), session_params(user_id=user.pk, now=now, lesson_id=lesson_id))
        return session_from_row(cursor.fetchone()[3:])


def session_from_row(row: tuple) -> Session:
    (
        (
            learning,
            review_offer,
            new_offer,
            reviews_due,
            new_available,
            total_left,
            new_left,
            reviews_done,
            new_done,
            can_undo,
            later_count,
            later_at,
        ),
        rest,
    ) = row[:12], row[12:]
    card = None
    if rest[0] is not None:
        objects, offset = {}, 0
        for alias, model, fields in _shown_fields():
            objects[alias] = _hydrate(model, fields, rest[offset : offset + len(fields)])
            offset += len(fields)
        card, question, section, lesson = objects["c"], objects["q"], objects["s"], objects["l"]
        if section.pk is not None:
            section.lesson = lesson
            question.section = section
        card.question = question
    session = Session(
        card=card,
        learning_count=learning,
        due_count=review_offer,
        new_count=new_offer,
        reviewed_today=reviews_done,
        new_today=new_done,
        can_undo=can_undo,
        reviews_held=reviews_due - review_offer,
        new_held=new_available - new_offer,
        later_count=later_count,
        later_at=later_at,
    )
    if card is None and session.reviews_held:
        session.stopped_by = "reviews"
    elif card is None and session.new_held:
        # The tighter of the two limits is the one that stopped the new cards.
        session.stopped_by = "new" if new_left <= total_left - review_offer else "reviews"
    return session


def progress_for(*, user, review_settings: ReviewSettings, now: datetime, days: int = 30) -> dict:
    zone = learner_zone(user)
    today_local = now.astimezone(zone).date()
    logs = ReviewLog.objects.filter(user=user, undone_at__isnull=True)

    per_day = dict(
        logs.filter(
            reviewed_at__gte=day_start(user=user, now=now, rollover_hour=review_settings.rollover_hour)
            - timedelta(days=days - 1)
        )
        .annotate(day=TruncDate("reviewed_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    review_days = set(
        logs.filter(reviewed_at__gte=now - timedelta(days=400))
        .annotate(day=TruncDate("reviewed_at", tzinfo=zone))
        .values_list("day", flat=True)
        .distinct()
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
    for card in cards.annotate(
        concept_ids=ArrayAgg("question__concepts__id", filter=Q(question__concepts__isnull=False), default=[])
    ).only("id", "fsrs", "due", "reps"):
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
        "reviews_per_day": [
            (today_local - timedelta(days=i), per_day.get(today_local - timedelta(days=i), 0))
            for i in range(days - 1, -1, -1)
        ],
        "retention": retention,
        "retention_reviews": matured["total"],
        "forecast": [
            (today_local + timedelta(days=i), forecast.get(today_local + timedelta(days=i), 0)) for i in range(days)
        ],
        "mastery": mastery,
        "total_reviews": logs.count(),
    }


def review_histories(*, user) -> dict[int, list[ReviewLog]]:
    """Each of the learner's cards → its answers in time order, undone ones left out: what FSRS learns from and
    what a card's memory state is replayed from."""
    history: dict[int, list[ReviewLog]] = defaultdict(list)
    for log in (
        ReviewLog.objects.filter(user=user, undone_at__isnull=True)
        .exclude(card__reset_at__gt=F("reviewed_at"))
        .order_by("card_id", "reviewed_at", "id")
        .only("id", "card_id", "rating", "reviewed_at", "duration_ms")
    ):
        history[log.card_id].append(log)
    return dict(history)


def fsrs_training_items(
    *, user, review_settings: ReviewSettings | None = None, histories: dict[int, list[ReviewLog]] | None = None
) -> list:
    """The learner's history as fsrs-rs items: for each review after a card's first, the card's history up to it.

    Elapsed time is counted in the learner's days (local, turning at the rollover hour), as Anki does: answers at
    19:54 and at 08:00 the next morning are one day apart. Items come in the time order of their last review, so
    that fsrs-rs sees the history as it happened.
    """
    import fsrs_rs_python

    zone = learner_zone(user)
    rollover = scheduling.rollover_hour_of(review_settings)
    histories = review_histories(user=user) if histories is None else histories
    dated = []
    for reviews in histories.values():
        steps, previous = [], None
        for log in reviews:
            day = scheduling.learner_day(log.reviewed_at, zone=zone, rollover_hour=rollover)
            delta_t = (day - previous).days if previous else 0
            steps.append(fsrs_rs_python.FSRSReview(log.rating, delta_t))
            previous = day
            if len(steps) >= 2 and delta_t > 0:
                dated.append((log.reviewed_at, log.id, fsrs_rs_python.FSRSItem(list(steps))))
    dated.sort(key=lambda entry: entry[:2])
    return [item for _at, _id, item in dated]


def users_with_enough_reviews(*, minimum: int) -> list[int]:
    return list(
        ReviewLog.objects.filter(undone_at__isnull=True)
        .values("user_id")
        .annotate(n=Count("id"))
        .filter(n__gte=minimum)
        .values_list("user_id", flat=True)
    )


def export_rows(*, user):
    """The learner's cards on questions still in use: a retired or rejected question is not worth keeping."""
    return (
        Card.objects.filter(user=user, question__status=Question.Status.APPROVED)
        .select_related("question__section__lesson")
        .order_by("question_id")
    )


MY_CARDS_FILTERS = ("all", "suspended", "leeches")


def my_cards(*, user, search: str = "", show: str = "all"):
    """The learner's cards for the "My cards" page, most recently studied first, searchable by prompt, answer or note."""
    cards = (
        Card.objects.filter(user=user, question__status=Question.Status.APPROVED)
        .select_related("question__section__lesson")
        .defer(*HEAVY_FIELDS)
    )
    if search:
        cards = cards.filter(
            Q(question__prompt__icontains=search) | Q(question__answer__icontains=search) | Q(note__icontains=search)
        )
    if show == "suspended":
        cards = cards.filter(suspended=True)
    elif show == "leeches":
        cards = cards.filter(is_leech=True)
    return cards.order_by(F("first_reviewed_at").desc(nulls_last=True), "question_id")


# Reads across many learners, for the team dashboard: aggregates only, never an answer, in one query each
# however many learners or cards there are. Raw SQL where the ORM would need a query per learner or lose the
# single scan.

# FSRS-6 retrievability, R = (1 + FACTOR * t / S) ** DECAY with DECAY = -w[20] and FACTOR = 0.9 ** (1 / DECAY) - 1,
# t in whole elapsed days: the formula of fsrs.Scheduler.get_card_retrievability, computed in SQL so that a
# team's mastery is one aggregate however many cards it holds (tests compare it with card_retrievability).
# A learner's optimised parameters carry their own w[20]; the package's default stands in otherwise.
# Stability and last review come from the stored columns, or the JSON state for a card written without them.
CONCEPT_RETRIEVABILITY_SQL = """
    WITH decay AS (
      SELECT u.id AS user_id, coalesce((rs.fsrs_parameters->>20)::float8, %(w20)s) AS w20
      FROM unnest(%(users)s::bigint[]) AS u(id) LEFT JOIN quizzes_reviewsettings rs ON rs.user_id = u.id
    ), tagged AS (
      SELECT qc.question_id, qc.concept_id FROM quizzes_question_concepts qc
        JOIN content_concept k ON k.id = qc.concept_id WHERE k.course_id = %(course_id)s
    ), memory AS (
      SELECT c.user_id, c.question_id, coalesce(c.stability, (c.fsrs->>'stability')::float8) AS stability,
             coalesce(c.last_review, (c.fsrs->>'last_review')::timestamptz) AS last_review
      FROM quizzes_card c WHERE c.user_id = ANY(%(users)s) AND c.question_id IN (SELECT question_id FROM tagged)
    )
    SELECT m.user_id, t.concept_id, avg(
      CASE WHEN m.last_review IS NULL OR m.stability IS NULL THEN NULL ELSE
        power(1 + (power(0.9, 1.0 / -d.w20) - 1)
                  * greatest(0, floor(extract(epoch FROM (%(now)s - m.last_review)) / 86400)) / m.stability,
              -d.w20)
      END) AS mean
    FROM memory m JOIN decay d ON d.user_id = m.user_id JOIN tagged t ON t.question_id = m.question_id
    GROUP BY m.user_id, t.concept_id
"""
# A lesson's mean is over its concepts' means, the concepts not started (NULL) left out; a lesson whose concepts
# are all not started is NULL, one the learner holds no card on is absent. Only the concepts asked for come back
# one by one: shipping every learner's every concept was most of the query's time.
LESSON_RETRIEVABILITY_SQL = f"""
    WITH per_concept AS MATERIALIZED ({CONCEPT_RETRIEVABILITY_SQL}), lesson_of AS (
      SELECT * FROM unnest(%(concepts)s::bigint[], %(lessons)s::int[]) AS k(concept_id, lesson_order)
    )
    SELECT p.user_id, k.lesson_order, NULL::bigint, avg(p.mean)
    FROM per_concept p JOIN lesson_of k ON k.concept_id = p.concept_id GROUP BY p.user_id, k.lesson_order
    UNION ALL
    SELECT p.user_id, NULL, p.concept_id, p.mean FROM per_concept p
    WHERE %(every_concept)s OR p.concept_id = ANY(%(detail)s::bigint[])
"""


def _card_course_filter(course_id: int | None, alias: str = "c") -> str:
    # A hashed IN over the course's question ids: an EXISTS per row cost a join per card or review.
    if course_id is None:
        return ""
    return f"""
      AND {alias}.question_id IN (
        SELECT q.id FROM quizzes_question q JOIN content_section s ON s.id = q.section_id
          JOIN content_lesson l ON l.id = s.lesson_id WHERE l.course_id = %(course_id)s)
    """


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fsrs_default_w20() -> float:
    # The decay of FSRS-6's forgetting curve; a learner's optimised parameters carry their own.
    return float(fsrs.Scheduler().parameters[20])


def concepts_with_questions(*, course_id: int) -> list[Concept]:
    """The course's concepts that at least one question asks about (a concept without one has no mastery), in course
    order: by the first lesson whose questions ask about it (annotated as lesson_order), then by term."""
    return list(
        Concept.objects.filter(course_id=course_id, questions__isnull=False)
        .annotate(lesson_order=Min("questions__section__lesson__order"))
        .order_by("lesson_order", "term")
    )


@dataclass
class CardCounts:
    total: int = 0
    learned: int = 0
    overdue: int = 0


def card_counts_for_users(*, user_ids: list[int], course_id: int | None, now: datetime) -> dict[int, CardCounts]:
    """Each learner's cards (of one course, or all): how many, how many answered at least once, how many overdue.

    Learners without cards are absent from the result.
    """
    sql = f"""
        SELECT c.user_id, count(*), count(*) FILTER (WHERE c.reps > 0),
               count(*) FILTER (WHERE c.reps > 0 AND c.due < %(now)s)
        FROM quizzes_card c WHERE c.user_id = ANY(%(users)s) {_card_course_filter(course_id)}
        GROUP BY c.user_id
    """
    rows = _fetch(sql, {"users": list(user_ids), "course_id": course_id, "now": now})
    return {user_id: CardCounts(total, learned, overdue) for user_id, total, learned, overdue in rows}


@dataclass
class ReviewActivity:
    """One learner's review log, undone answers left out.

    streak: consecutive local days (in the learner's time zone) with a review of any course, ending today or
    yesterday (today's reviews may still be to come), counted back no further than history_since.
    recent: reviews since recent_since; mature: reviews since retention_since of cards already in the Review
    state; passed: those of them not answered Again. The three counts are for the course's cards only.
    """

    streak: int = 0
    recent: int = 0
    mature: int = 0
    passed: int = 0

    @property
    def retention(self) -> float | None:
        """True retention, as Anki measures it: first answers and relearning steps would flatter or punish it."""
        return self.passed / self.mature if self.mature else None


# Both read only the answers that stand, from the index that holds them (reviewlog_user_time_standing).
# The counts read the window they need, nothing older. The streak walks back a day at a time, one index probe
# per day, and stops at the first day without a review: its cost is the streak's length, not the log's.
REVIEW_ACTIVITY_SQL = """
    WITH RECURSIVE learner AS MATERIALIZED (
      SELECT u.id AS user_id, u.zone, (%(now)s::timestamptz AT TIME ZONE u.zone)::date AS today
      FROM unnest(%(users)s::bigint[], %(zones)s::text[]) AS u(id, zone)
    ), walk(user_id, zone, day, length) AS (
      SELECT l.user_id, l.zone, latest.day, 1
      FROM learner l CROSS JOIN LATERAL (
        SELECT (r.reviewed_at AT TIME ZONE l.zone)::date AS day FROM quizzes_reviewlog r
        WHERE r.user_id = l.user_id AND r.undone_at IS NULL AND r.reviewed_at >= %(history_since)s
          AND r.reviewed_at < ((l.today + 1)::timestamp AT TIME ZONE l.zone)
        ORDER BY r.reviewed_at DESC LIMIT 1) latest
      WHERE latest.day >= l.today - 1
      UNION ALL
      SELECT w.user_id, w.zone, w.day - 1, w.length + 1 FROM walk w
      WHERE EXISTS (
        SELECT FROM quizzes_reviewlog r WHERE r.user_id = w.user_id AND r.undone_at IS NULL
          AND r.reviewed_at >= greatest(%(history_since)s, (w.day - 1)::timestamp AT TIME ZONE w.zone)
          AND r.reviewed_at < w.day::timestamp AT TIME ZONE w.zone)
    ), streaks AS (
      SELECT user_id, max(length) AS streak FROM walk GROUP BY user_id
    ), counts AS (
      SELECT r.user_id, count(*) FILTER (WHERE r.reviewed_at >= %(recent_since)s) AS recent,
             count(*) FILTER (WHERE r.reviewed_at >= %(retention_since)s AND r.state_before = %(review_state)s)
               AS mature,
             count(*) FILTER (WHERE r.reviewed_at >= %(retention_since)s AND r.state_before = %(review_state)s
                              AND r.rating > %(again)s) AS passed
      FROM quizzes_reviewlog r
      WHERE r.user_id = ANY(%(users)s) AND r.undone_at IS NULL
        AND r.reviewed_at >= greatest(%(history_since)s, least(%(recent_since)s, %(retention_since)s))
        AND (r.reviewed_at >= %(recent_since)s OR r.state_before = %(review_state)s) {course_cards}
      GROUP BY r.user_id
    )
    SELECT l.user_id, coalesce(s.streak, 0), coalesce(c.recent, 0), coalesce(c.mature, 0), coalesce(c.passed, 0)
    FROM learner l LEFT JOIN streaks s ON s.user_id = l.user_id LEFT JOIN counts c ON c.user_id = l.user_id
"""


def review_activity_for_users(
    *,
    user_zones: dict[int, str | None],
    course_id: int | None,
    now: datetime,
    recent_since: datetime,
    retention_since: datetime,
    history_since: datetime,
) -> dict[int, ReviewActivity]:
    """Every learner of user_zones (id → time zone name, None for UTC) gets an entry, an empty one if they never
    reviewed. One statement for all of them; the streak's days are the learner's local days at `now`."""
    user_ids = list(user_zones)
    params = {
        "users": user_ids,
        "zones": [user_zones[user_id] or "UTC" for user_id in user_ids],
        "course_id": course_id,
        "now": now,
        "recent_since": recent_since,
        "retention_since": retention_since,
        "history_since": history_since,
        "review_state": fsrs.State.Review.value,
        "again": ReviewLog.Rating.AGAIN.value,
    }
    course_cards = (
        ""
        if course_id is None
        else "AND r.card_id IN (SELECT c.id FROM quizzes_card c WHERE c.user_id = ANY(%(users)s) "
        f"{_card_course_filter(course_id)})"
    )
    rows = _fetch(REVIEW_ACTIVITY_SQL.format(course_cards=course_cards), params)
    return {
        user_id: ReviewActivity(streak=streak, recent=recent, mature=mature, passed=passed)
        for user_id, streak, recent, mature, passed in rows
    }


@dataclass
class Mastery:
    """Learner id → lesson order → mean over the lesson's started concepts (None: cards, none answered), and
    learner id → concept id → mean retrievability of the answered cards on that concept (None: not started)."""

    lessons: dict[int, dict[int, float | None]] = field(default_factory=dict)
    concepts: dict[int, dict[int, float | None]] = field(default_factory=dict)


def retrievability_for_users(
    *,
    user_ids: list[int],
    course_id: int,
    now: datetime,
    concept_lessons: dict[int, int],
    detail: list[int] | None = None,
) -> Mastery:
    """Mean retrievability at `now` of each learner's answered cards, per concept and per lesson.

    concept_lessons maps each concept to the order of the lesson it is grouped under; detail names the concepts
    wanted one by one (None: all of them). A concept or lesson the learner holds no card on is absent; None means
    cards held but none answered (not started: nothing to forget yet, which is not the same as having forgotten).
    """
    params = {
        "users": list(user_ids),
        "course_id": course_id,
        "now": now,
        "w20": _fsrs_default_w20(),
        "concepts": list(concept_lessons),
        "lessons": list(concept_lessons.values()),
        "every_concept": detail is None,
        "detail": list(detail or ()),
    }
    mastery = Mastery(lessons=defaultdict(dict), concepts=defaultdict(dict))
    for user_id, lesson_order, concept_id, mean in _fetch(LESSON_RETRIEVABILITY_SQL, params):
        value = None if mean is None else float(mean)
        if concept_id is None:
            mastery.lessons[user_id][lesson_order] = value
        else:
            mastery.concepts[user_id][concept_id] = value
    return mastery


def card_retrievability(*, card: Card, now: datetime) -> float:
    """One card's retrievability through the fsrs package itself: the reference the SQL above must agree with."""
    settings_row = ReviewSettings.objects.filter(user_id=card.user_id).first()
    parameters = settings_row.fsrs_parameters if settings_row and len(settings_row.fsrs_parameters) > 20 else None
    scheduler = fsrs.Scheduler(parameters=parameters) if parameters else fsrs.Scheduler()
    if not card.fsrs:
        return 0.0
    return scheduler.get_card_retrievability(fsrs.Card.from_dict(card.fsrs), current_datetime=now)


def questions_check(*, course) -> list[tuple[Question, list[str]]]:
    """Every live question of the course (hand-written, generated and approved, drafts) with the problems the checks
    find: the same checks a generated question passes before it is approved, and near-duplicates of an earlier one."""
    questions = list(
        Question.objects.filter(section__lesson__course=course, owner__isnull=True)
        .exclude(status__in=[Question.Status.REJECTED, Question.Status.RETIRED])
        .select_related("section")
    )
    vectors = get_embedder().passages([embedding_text(q.prompt, q.answer) for q in questions])
    results = []
    for index, question in enumerate(questions):
        # A hand-written question names its section and quotes no evidence; a generated one must quote its section.
        quotes = question.origin in {Question.Origin.RULE, Question.Origin.LLM}
        problems = question_problems(
            {
                "type": question.type,
                "prompt": question.prompt,
                "options": question.options,
                "answer": question.answer,
                "accept": question.accept,
                "evidence": question.evidence,
            },
            section_text=question.section.text if quotes and question.section else None,
        )
        if duplicate := check_duplicate(vectors[index], vectors[:index], [q.pk for q in questions[:index]]):
            problems.append(duplicate)
        results.append((question, problems))
    return results


def cards_due_today_count(*, user, now: datetime) -> int:
    """Cards already studied that fall due before the learner's day ends: what a reminder counts. Unseen cards are
    new, not due."""
    review_settings = ReviewSettings.objects.filter(user=user).first()
    day_end = scheduling.learner_day_end(
        now, zone=learner_zone(user), rollover_hour=scheduling.rollover_hour_of(review_settings)
    )
    cards = Card.objects.filter(user=user, question__status=Question.Status.APPROVED)
    return cards.filter(reps__gt=0, due__lt=day_end).count()

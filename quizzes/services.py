"""Writes: loading and reviewing questions, creating and reviewing cards, reminders, FSRS optimisation."""

import json
import logging
import re
import zoneinfo
from datetime import UTC, datetime

import fsrs
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

import textkit
from accounts.models import Profile
from content.models import Concept, Course, Lesson, Section
from llm.embeddings import get_embedder

from . import scheduling, selectors
from .models import Card, OptimisationRun, Question, ReviewLog, ReviewSettings
from .selectors import day_start, fsrs_training_items, learner_day
from .verification import Draft, check_duplicate, check_flaws, embedding_text, plain

logger = logging.getLogger(__name__)


def review_settings_for(*, user) -> ReviewSettings:
    review_settings, _ = ReviewSettings.objects.get_or_create(user=user)
    return review_settings


def review_settings_update(*, user, **fields) -> ReviewSettings:
    review_settings = review_settings_for(user=user)
    for name, value in fields.items():
        setattr(review_settings, name, value)
    review_settings.save(update_fields=list(fields))
    return review_settings


def concept_lookup(*, course: Course) -> dict[str, Concept]:
    """Every name a course's concepts go by (term, Chinese term, aliases), case-folded."""
    lookup: dict[str, Concept] = {}
    for concept in Concept.objects.filter(course=course):
        for name in [concept.term, concept.term_zh, *concept.aliases]:
            if name:
                lookup.setdefault(name.strip().casefold(), concept)
    return lookup


@transaction.atomic
def handwritten_questions_load(*, course: Course) -> int:
    """Turn each lesson's hand-written questions (Lesson.questions, see FORMAT.md) into approved Questions.

    Idempotent: a question's key is its lesson, language and position, so reloading updates in place and keeps
    learners' cards. A question removed from its file is retired; one retired or rejected by a reviewer stays so.
    """
    concepts = concept_lookup(course=course)
    count = 0
    for lesson in Lesson.objects.filter(course=course).prefetch_related("sections"):
        sections = {section.heading.strip().casefold(): section for section in lesson.sections.all()}
        prefix = f"handwritten:{course.slug}:{lesson.slug}:{lesson.language}:"
        keys = []
        for index, item in enumerate(lesson.questions or []):
            key = f"{prefix}{index}"
            keys.append(key)
            question_type = item.get("type", "mcq")
            options = [str(option) for option in item.get("options", [])] if question_type == "mcq" else []
            answer = options[int(item["answer"])] if question_type == "mcq" else str(item.get("answer", ""))
            question, created = Question.objects.update_or_create(
                key=key,
                defaults={
                    "type": question_type,
                    "prompt": item.get("prompt", ""),
                    "options": options,
                    "answer": answer,
                    "accept": [str(a) for a in item.get("accept", [])],
                    "explanation": item.get("explanation", ""),
                    "section": sections.get(str(item.get("section", "")).strip().casefold()),
                    "language": lesson.language,
                    "difficulty": int(item.get("difficulty", 2)),
                    "origin": Question.Origin.HANDWRITTEN,
                },
            )
            if created:
                question.status = Question.Status.APPROVED
                question.save(update_fields=["status"])
            named = [concepts.get(str(name).strip().casefold()) for name in item.get("concepts", [])]
            question.concepts.set([concept for concept in named if concept is not None])
            count += 1
        Question.objects.filter(key__startswith=prefix, status=Question.Status.APPROVED).exclude(key__in=keys).update(
            status=Question.Status.RETIRED
        )
    return count


def learner_language(user) -> str:
    profile = getattr(user, "profile", None)
    return getattr(profile, "language", None) or "en"


def cards_create(*, user, questions, now: datetime | None = None) -> int:
    """Give the learner a new card for each question they do not have yet; returns how many were created."""
    now = now or timezone.now()
    review_settings_for(user=user)
    before = Card.objects.filter(user=user).count()
    Card.objects.bulk_create([Card(user=user, question=q, due=now) for q in questions], ignore_conflicts=True)
    return Card.objects.filter(user=user).count() - before


def approved_for(*, user):
    return Question.objects.filter(status=Question.Status.APPROVED).filter(Q(owner__isnull=True) | Q(owner=user))


def cards_create_for_course(*, user, course: Course, now: datetime | None = None) -> int:
    """A course assigned to (or started by) a learner: cards for its approved questions in the learner's language."""
    questions = approved_for(user=user).filter(section__lesson__course=course)
    language = learner_language(user)
    in_language = questions.filter(language=language)
    return cards_create(user=user, questions=in_language if in_language.exists() else questions, now=now)


def cards_create_for_lesson(*, user, lesson: Lesson, now: datetime | None = None) -> int:
    questions = approved_for(user=user).filter(section__lesson=lesson)
    return cards_create(user=user, questions=list(questions), now=now)


def card_snapshot(card: Card) -> dict:
    return {
        "fsrs": card.fsrs,
        "due": card.due.isoformat(),
        "reps": card.reps,
        "lapses": card.lapses,
        "is_leech": card.is_leech,
        "suspended": card.suspended,
        "first_reviewed_at": card.first_reviewed_at.isoformat() if card.first_reviewed_at else None,
    }


def card_restore(card: Card, snapshot: dict) -> None:
    card.fsrs = snapshot["fsrs"]
    card.memory_state_sync()
    card.due = datetime.fromisoformat(snapshot["due"])
    card.reps = snapshot["reps"]
    card.lapses = snapshot["lapses"]
    card.is_leech = snapshot["is_leech"]
    card.suspended = snapshot.get("suspended", card.suspended)
    first = snapshot["first_reviewed_at"]
    card.first_reviewed_at = datetime.fromisoformat(first) if first else None


def card_as_shown(*, card_id: int, user_id: int, snapshot: dict) -> Card:
    """The card as it was when its answer was shown, rebuilt from the snapshot the rating's token carries."""
    card = Card(pk=card_id, user_id=user_id)
    card_restore(card, snapshot)
    return card


CARD_SCHEDULE_FIELDS = [
    "fsrs",
    "stability",
    "last_review",
    "due",
    "reps",
    "lapses",
    "is_leech",
    "suspended",
    "first_reviewed_at",
]


class CardAlreadyAnswered(Exception):
    """The card changed since this answer was shown: it was rated in another tab (or undone and rated again)."""


def outcome_seed(card: Card) -> int:
    # The same card in the same state always draws the same fuzz, so a preview and the saved review agree.
    return card.pk * 1_000_003 + card.reps


def review_outcomes(*, card: Card, review_settings: ReviewSettings, now: datetime, seed: int | None = None) -> dict:
    """The card's FSRS state after each rating (1–4) at `now`: the intervals the buttons show and review_record
    saves."""
    scheduler = scheduling.scheduler_for(review_settings)
    return scheduling.outcomes(
        card=card, scheduler=scheduler, now=now, seed=outcome_seed(card) if seed is None else seed
    )


# One statement, so a rating is one round trip and atomic without a transaction: the card is updated only if it
# is still in the state the learner saw (same reps and last review) and this answer was not recorded before. The
# row lock the UPDATE takes makes a second tab's rating, or a double click, wait and then find the state changed.
REVIEW_WRITE_SQL = f"""
    updated AS (
      UPDATE {Card._meta.db_table} SET fsrs = %(fsrs)s::jsonb, due = %(due)s, reps = %(reps)s, lapses = %(lapses)s,
             stability = %(stability)s, last_review = %(last_review)s,
             is_leech = %(is_leech)s, first_reviewed_at = %(first_reviewed_at)s,
             -- Set aside on the lapse that makes it a leech, when the learner's settings say so (default on); one
             -- the learner unsuspended stays in play until it lapses again.
             suspended = suspended OR (%(new_leech)s AND coalesce(
               (SELECT suspend_leeches FROM {ReviewSettings._meta.db_table} WHERE user_id = %(user)s), true))
      WHERE id = %(card)s AND user_id = %(user)s AND reps = %(reps_before)s
        AND (fsrs->>'last_review') IS NOT DISTINCT FROM %(last_review_before)s
        AND NOT EXISTS (SELECT 1 FROM {ReviewLog._meta.db_table} WHERE idempotency_key = %(key)s)
      RETURNING id, fsrs, due, reps
    ), logged AS (
      INSERT INTO {ReviewLog._meta.db_table} (card_id, user_id, rating, reviewed_at, duration_ms, answer, correct,
                                             state_before, card_before, card_after, idempotency_key)
      SELECT id, %(user)s, %(rating)s, %(at)s, %(duration_ms)s, %(answer)s, %(correct)s, %(state_before)s,
             %(card_before)s::jsonb, %(card_after)s::jsonb, %(key)s FROM updated
      RETURNING id, card_id, state_before, reviewed_at
    )
"""
# What became of the write; the EXISTS see the rows as they were before this statement.
REVIEW_WRITE_RESULT = f"""
    (SELECT id FROM logged), EXISTS (SELECT 1 FROM {ReviewLog._meta.db_table} WHERE idempotency_key = %(key)s),
    EXISTS (SELECT 1 FROM {Card._meta.db_table} WHERE id = %(card)s AND user_id = %(user)s)
"""


def _review_write(
    *,
    card: Card,
    rating: int,
    answered_at: datetime,
    duration_ms: int,
    answer: str,
    correct: bool,
    idempotency_key: str,
    review_settings: ReviewSettings | None,
    outcome: dict | None,
):
    """The parameters of the rating's write, and the card as the write leaves it."""
    answered_at = answered_at.astimezone(UTC)
    if outcome is None:
        if review_settings is None:
            review_settings, _ = ReviewSettings.objects.get_or_create(user_id=card.user_id)
        outcome = review_outcomes(card=card, review_settings=review_settings, now=answered_at)[rating]
    before = card_snapshot(card)
    state_before = 0 if card.reps == 0 or not card.fsrs else card.fsrs["state"]
    after = Card(
        pk=card.pk,
        user_id=card.user_id,
        fsrs=outcome,
        due=datetime.fromisoformat(outcome["due"]),
        reps=card.reps + 1,
        lapses=card.lapses + (rating == ReviewLog.Rating.AGAIN and state_before == fsrs.State.Review.value),
        first_reviewed_at=card.first_reviewed_at or answered_at,
    )
    after.is_leech = card.is_leech or after.lapses >= scheduling.LEECH_LAPSES
    after.memory_state_sync()
    new_leech = after.is_leech and after.lapses > card.lapses
    suspend_leeches = review_settings.suspend_leeches if review_settings is not None else True
    after.suspended = card.suspended or (new_leech and suspend_leeches)
    params = {
        "card": card.pk,
        "user": card.user_id,
        "reps_before": card.reps,
        "last_review_before": (card.fsrs or {}).get("last_review"),
        "key": idempotency_key,
        "fsrs": json.dumps(outcome),
        "due": after.due,
        "reps": after.reps,
        "lapses": after.lapses,
        "is_leech": after.is_leech,
        "first_reviewed_at": after.first_reviewed_at,
        "new_leech": new_leech,
        "stability": after.stability,
        "last_review": after.last_review,
        "rating": rating,
        "at": answered_at,
        "duration_ms": duration_ms,
        "answer": answer[:2000],
        "correct": correct,
        "state_before": state_before,
        "card_before": json.dumps(before),
        "card_after": json.dumps(card_snapshot(after)),
    }
    return params, after


def _review_written(*, card: Card, after: Card, params: dict, log_id, repeated: bool, owned: bool) -> ReviewLog:
    if log_id is None:
        if repeated:
            return ReviewLog.objects.get(idempotency_key=params["key"])
        if not owned:
            raise Card.DoesNotExist
        raise CardAlreadyAnswered
    card.__dict__.update({name: getattr(after, name) for name in CARD_SCHEDULE_FIELDS})
    return ReviewLog(
        pk=log_id,
        card_id=card.pk,
        user_id=card.user_id,
        rating=params["rating"],
        reviewed_at=params["at"],
        duration_ms=params["duration_ms"],
        answer=params["answer"],
        correct=params["correct"],
        state_before=params["state_before"],
        card_before=json.loads(params["card_before"]),
        card_after=json.loads(params["card_after"]),
        idempotency_key=params["key"],
    )


def review_record(
    *,
    card: Card,
    rating: int,
    answered_at: datetime,
    duration_ms: int,
    answer: str = "",
    correct: bool,
    idempotency_key: str,
    review_settings: ReviewSettings | None = None,
    outcome: dict | None = None,
) -> ReviewLog:
    """Schedule the card after one answer and log it, in one statement.

    `card` is the card as the learner saw it, `outcome` the FSRS state the chosen button promised (worked out from
    the card when the answer was shown, see review_outcomes); without one it is worked out here. A retried or
    double-clicked submission carries the same idempotency key and returns the first review. A card that changed
    since (rated in another tab) raises CardAlreadyAnswered; someone else's card raises Card.DoesNotExist.
    """
    params, after = _review_write(
        card=card,
        rating=rating,
        answered_at=answered_at,
        duration_ms=duration_ms,
        answer=answer,
        correct=correct,
        idempotency_key=idempotency_key,
        review_settings=review_settings,
        outcome=outcome,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {REVIEW_WRITE_SQL} SELECT {REVIEW_WRITE_RESULT}", params)
        log_id, repeated, owned = cursor.fetchone()
    return _review_written(card=card, after=after, params=params, log_id=log_id, repeated=repeated, owned=owned)


def review_record_and_next(
    *,
    card: Card,
    rating: int,
    answered_at: datetime,
    duration_ms: int,
    answer: str = "",
    correct: bool,
    idempotency_key: str,
    outcome: dict,
    now: datetime,
    lesson_id: int | None = None,
) -> tuple[ReviewLog | None, selectors.Session]:
    """review_record, and the learner's next card, in one round trip: the rating is what a learner does most.

    Returns (None, next) when the card had already been answered in another tab; raises as review_record otherwise.
    """
    params, after = _review_write(
        card=card,
        rating=rating,
        answered_at=answered_at,
        duration_ms=duration_ms,
        answer=answer,
        correct=correct,
        idempotency_key=idempotency_key,
        review_settings=None,
        outcome=outcome,
    )
    params.update(selectors.session_params(user_id=card.user_id, now=now, lesson_id=lesson_id))
    with connection.cursor() as cursor:
        cursor.execute(selectors.session_sql(write=REVIEW_WRITE_SQL, write_result=REVIEW_WRITE_RESULT), params)
        row = cursor.fetchone()
    session = selectors.session_from_row(row[3:])
    if session.card is not None and session.card.pk == card.pk and row[0] is not None:
        # The statement read the card as it was before its own update.
        session.card.__dict__.update({name: getattr(after, name) for name in CARD_SCHEDULE_FIELDS})
    try:
        log = _review_written(card=card, after=after, params=params, log_id=row[0], repeated=row[1], owned=row[2])
    except CardAlreadyAnswered:
        log = None
    return log, session


@transaction.atomic
def review_undo(*, user, now: datetime | None = None) -> Card | None:
    """Put the card of the learner's last answer back as it was; the review stays logged, marked undone.

    Only the very last answer, only once, and only within the learner's current day: undo corrects a slip of the
    finger, it does not rewrite history.
    """
    now = now or timezone.now()
    last = ReviewLog.objects.select_for_update().filter(user=user).order_by("-reviewed_at", "-id").first()
    review_settings = review_settings_for(user=user)
    if (
        last is None
        or last.undone_at is not None
        or last.reviewed_at < day_start(user=user, now=now, rollover_hour=review_settings.rollover_hour)
    ):
        return None
    # Same race as in review_record: a concurrent review of this card must not interleave with the restore.
    card = Card.objects.select_for_update().get(pk=last.card_id)
    card_restore(card, last.card_before)
    card.save(update_fields=CARD_SCHEDULE_FIELDS)
    last.undone_at = now
    last.save(update_fields=["undone_at"])
    return card


def card_suspend(*, card: Card, suspended: bool = True) -> Card:
    card.suspended = suspended
    card.save(update_fields=["suspended"])
    return card


@transaction.atomic
def review_limits_extend(*, user, reviews: int = 0, new: int = 0, now: datetime) -> ReviewSettings:
    """ "Study more today", as Anki's custom study: raise today's limits for the rest of the learner's day."""
    review_settings_for(user=user)
    # Two tabs may press the button at once: each extension must add up.
    review_settings = ReviewSettings.objects.select_for_update().get(user=user)
    today = learner_day(user=user, now=now, rollover_hour=review_settings.rollover_hour)
    if review_settings.extended_on != today:
        review_settings.extended_on, review_settings.extra_reviews, review_settings.extra_new = today, 0, 0
    review_settings.extra_reviews += reviews
    review_settings.extra_new += new
    review_settings.save(update_fields=["extended_on", "extra_reviews", "extra_new"])
    return review_settings


@transaction.atomic
def card_reset(*, card: Card, now: datetime) -> Card:
    """Forget the card: it comes back as new. Its answers stay logged (progress and streaks keep them) but no longer
    shape its memory: the optimiser and replays start after the reset."""
    # Same race as in review_record: an answer being recorded must not land on the half-reset card.
    locked = Card.objects.select_for_update().get(pk=card.pk)
    locked.fsrs, locked.due, locked.reps, locked.lapses, locked.is_leech = {}, now, 0, 0, False
    locked.reset_at = now
    locked.memory_state_sync()
    locked.save(update_fields=["fsrs", "stability", "last_review", "due", "reps", "lapses", "is_leech", "reset_at"])
    return locked


def card_edit(*, card: Card, prompt: str | None = None, answer: str | None = None, note: str = "") -> Card:
    """A learner's own (tutor-made) question is theirs to reword; on a shared question they keep a note instead."""
    question = card.question
    if question.owner_id == card.user_id and prompt and answer:
        question.prompt, question.answer = prompt, answer
        question.save(update_fields=["prompt", "answer"])
    card.note = note
    card.save(update_fields=["note"])
    return card


def _bigrams(text: str) -> set[str]:
    folded = textkit.fold(text)
    return {folded[i : i + 2] for i in range(len(folded) - 1)}


def question_create_from_tutor_answer(
    *, user, question: str, answer: str, language: str, section_id: int | None
) -> Question:
    """A short-answer card in the learner's own deck, made from a tutor answer and checked like generated ones.

    The evidence is the sentence of the cited section that overlaps the answer most; an answer the section does not
    support, a flawed stem or a near-duplicate of a question the learner already has is kept as rejected, with why.
    """
    reference = re.sub(r"\s*\[\d+\]", "", answer).strip()[:600]
    section = Section.objects.filter(id=section_id).select_related("lesson").first() if section_id else None
    sentences = textkit.sentences(plain(section.text)) if section else []
    answer_grams = _bigrams(reference)
    overlap = lambda sentence: len(_bigrams(sentence) & answer_grams) / max(1, len(_bigrams(sentence)))  # noqa: E731
    evidence = max(sentences, key=overlap, default="")
    draft = Draft(type=Question.Type.FREE_TEXT, prompt=question.strip(), answer=reference, evidence=evidence)
    reason = None
    if section is None:
        reason = "the answer cites no section of the course"
    elif not evidence or overlap(evidence) < 0.3:
        reason = "the cited section does not support the answer"
    reason = reason or check_flaws(draft)
    if reason is None:
        own = list(approved_for(user=user).filter(language=language).values_list("id", "prompt", "answer"))
        embedder = get_embedder()
        vectors = embedder.passages([embedding_text(p, a) for _, p, a in own])
        reason = check_duplicate(
            embedder.passages([embedding_text(draft.prompt, reference)])[0], vectors, [row[0] for row in own]
        )
    with transaction.atomic():
        created = Question.objects.create(
            type=draft.type,
            prompt=draft.prompt,
            answer=reference,
            evidence=evidence,
            section=section,
            language=language,
            origin=Question.Origin.TUTOR,
            owner=user,
            status=Question.Status.REJECTED if reason else Question.Status.APPROVED,
            rejection_reason=reason or "",
        )
        if section is not None:
            created.concepts.set(section.concepts.all())
        if reason is None:
            cards_create(user=user, questions=[created])
    return created


def question_approve(*, question: Question) -> Question:
    question.status = Question.Status.APPROVED
    question.rejection_reason = ""
    question.save(update_fields=["status", "rejection_reason"])
    return question


def question_reject(*, question: Question, reason: str) -> Question:
    question.status = Question.Status.REJECTED
    question.rejection_reason = reason
    question.save(update_fields=["status", "rejection_reason"])
    return question


def reminder_claim_due(*, now: datetime) -> list[int]:
    """Claim today's reminder for every learner whose local reminder hour has come and who has reviews due today.

    "Has come", not "is": a learner whose cards fall due later in the day is picked up by a later hourly run, and a
    reminder hour that a DST change skips still fires. "Due today" means a card already studied (an unseen card
    is not due) that is due before the learner's day ends at the rollover hour. The claim is one conditional
    UPDATE per time zone in use (last_reminder_date before the local date), so a job that runs twice in the hour,
    or two beat processes, claim each learner once: at most one email a day.
    """
    rollover = "rs.rollover_hour"
    claimed: list[int] = []
    zones = set(Profile.objects.values_list("timezone", flat=True).distinct()) | {"UTC"}
    with connection.cursor() as cursor:
        for zone in sorted(zones):
            try:
                local = now.astimezone(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            # The day's end in SQL: local wall time minus the rollover gives the learner's day; its next
            # rollover, read back in the zone, is a real instant on either side of a DST change.
            cursor.execute(
                f"""
                UPDATE {ReviewSettings._meta.db_table} AS rs SET last_reminder_date = %(today)s
                WHERE rs.reminders_enabled AND rs.reminder_hour <= %(hour)s
                  AND (rs.last_reminder_date IS NULL OR rs.last_reminder_date < %(today)s)
                  AND COALESCE((SELECT p.timezone FROM {Profile._meta.db_table} p WHERE p.user_id = rs.user_id), 'UTC')
                      = %(zone)s
                  AND EXISTS (SELECT 1 FROM {Card._meta.db_table} c JOIN {Question._meta.db_table} q
                              ON q.id = c.question_id AND q.status = 'approved'
                              WHERE c.user_id = rs.user_id AND c.reps > 0
                                AND c.due < ((((%(local)s::timestamp - make_interval(hours => {rollover}))::date + 1)
                                              + make_interval(hours => {rollover})) AT TIME ZONE %(zone)s))
                RETURNING rs.user_id
                """,
                {"today": local.date(), "hour": local.hour, "zone": zone, "local": local.replace(tzinfo=None)},
            )
            claimed += [row[0] for row in cursor.fetchall()]
    return claimed


def fsrs_parameters_optimise(*, user, now: datetime | None = None) -> OptimisationRun:
    """Fit this learner's FSRS parameters to their review history with fsrs-rs-python (Anki's FSRS core), and adopt
    them only if they predict that history better than the current ones (lower log loss, as Anki decides).

    Both scores and the decision are kept as an OptimisationRun. After adopting, every card's stability, difficulty
    and due date are replayed from its answers under the new parameters, so the schedule follows the model.
    """
    import fsrs_rs_python  # loaded only here: the Rust optimiser is big and runs nightly, in a worker

    from .selectors import review_histories

    now = now or timezone.now()
    review_settings = review_settings_for(user=user)
    histories = review_histories(user=user)
    run = OptimisationRun(user=user, ran_at=now, reviews=sum(len(reviews) for reviews in histories.values()))
    items = fsrs_training_items(user=user, review_settings=review_settings, histories=histories)
    run.items = len(items)
    if run.reviews < MIN_REVIEWS_FOR_OPTIMISATION or run.items < MIN_ITEMS_FOR_OPTIMISATION:
        run.reason = (
            f"too little history: {run.reviews} reviews and {run.items} later answers; "
            f"at least {MIN_REVIEWS_FOR_OPTIMISATION} and {MIN_ITEMS_FOR_OPTIMISATION} are needed"
        )
        run.save()
        return run
    current = list(review_settings.fsrs_parameters or scheduling.scheduler_for(review_settings).parameters)
    fitted = list(fsrs_rs_python.FSRS(fsrs_rs_python.DEFAULT_PARAMETERS).compute_parameters(items))
    if len(fitted) != len(fsrs_rs_python.DEFAULT_PARAMETERS):
        run.reason = f"the optimiser returned {len(fitted)} parameters"
        run.save()
        return run
    run.parameters = [round(p, 6) for p in fitted]
    before = fsrs_rs_python.FSRS(current).evaluate(items)
    after = fsrs_rs_python.FSRS(run.parameters).evaluate(items)
    run.current_log_loss, run.current_rmse = before.log_loss, before.rmse_bins
    run.new_log_loss, run.new_rmse = after.log_loss, after.rmse_bins
    if not after.log_loss < before.log_loss:
        run.reason = "the fitted parameters do not predict this history better than the current ones"
        run.save()
        return run
    with transaction.atomic():
        # Lock the settings row: the learner may be changing their retention in the same moment.
        review_settings = ReviewSettings.objects.select_for_update().get(user=user)
        review_settings.fsrs_parameters = run.parameters
        review_settings.parameters_optimised_at = now
        review_settings.save(update_fields=["fsrs_parameters", "parameters_optimised_at"])
        run.adopted = True
        run.cards_recomputed = cards_memory_replay(user=user, review_settings=review_settings)
        run.save()
    return run


def card_replay(*, card: Card, reviews: list[ReviewLog], scheduler: fsrs.Scheduler) -> fsrs.Card:
    """The card's FSRS state as the scheduler would have made it from the same answers at the same moments."""
    state = fsrs.Card(card_id=card.pk, due=reviews[0].reviewed_at)
    for log in reviews:
        state, _log = scheduler.review_card(
            state, fsrs.Rating(log.rating), review_datetime=log.reviewed_at, review_duration=log.duration_ms
        )
    return state


@transaction.atomic
def cards_memory_replay(*, user, review_settings: ReviewSettings) -> int:
    """Recompute every studied card's stability, difficulty and due date from its answers under the learner's current
    parameters; returns how many cards changed. A card's due date stays the one its last answer gives."""
    from .selectors import review_histories

    # Lock the learner's cards first and read their answers after: a review recorded meanwhile waits for us,
    # then applies on top of the replayed state instead of being overwritten by it.
    cards = list(
        Card.objects.select_for_update()
        .filter(user=user, reps__gt=0)
        .only("id", "fsrs", "stability", "last_review", "due")
    )
    histories = review_histories(user=user)
    scheduler = scheduling.scheduler_for(review_settings)
    changed = []
    for card in cards:
        reviews = histories.get(card.pk)
        if not reviews:
            continue
        state = card_replay(card=card, reviews=reviews, scheduler=scheduler)
        card.fsrs, card.due = state.to_dict(), state.due
        card.memory_state_sync()
        changed.append(card)
    Card.objects.bulk_update(changed, ["fsrs", "stability", "last_review", "due"], batch_size=1000)
    return len(changed)


# fsrs-rs wants a few hundred reviews before its fit beats the defaults; Anki suggests about 400.
MIN_REVIEWS_FOR_OPTIMISATION = 400
MIN_ITEMS_FOR_OPTIMISATION = 100


UNSUBSCRIBE_SALT = "quizzes.reminders.unsubscribe"


def reminders_disable(*, user_id: int) -> None:
    ReviewSettings.objects.filter(user_id=user_id).update(reminders_enabled=False)


def reminder_send(*, user_id: int, now: datetime | None = None) -> bool:
    """Email one learner how many cards wait for them. The claim (reminder_claim_due) already made this once a day."""
    now = now or timezone.now()
    user = get_user_model().objects.select_related("profile").filter(pk=user_id).first()
    if user is None or not user.email:
        return False
    due = selectors.cards_due_today_count(user=user, now=now)
    if not due:
        return False
    base_url = getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")
    unsubscribe = base_url + reverse("reminders_unsubscribe", args=[signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)])
    with translation.override(learner_language(user)):
        context = {
            "due": due,
            "today_url": base_url + reverse("today"),
            "unsubscribe_url": unsubscribe,
            "name": user.profile.name if hasattr(user, "profile") else user.email,
        }
        subject = render_to_string("quizzes/email/reminder_subject.txt", context).strip()
        body = render_to_string("quizzes/email/reminder.txt", context)
    message = EmailMessage(
        subject,
        body,
        to=[user.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    # Claim this day's email (the date reminder_claim_due set) before sending: a batch delivered again after a
    # lost worker finds it taken. Sending can still fail after the claim; then the claim is handed back.
    # One UPDATE, committed on its own before the mail goes out.
    claimed = (
        ReviewSettings.objects.filter(user=user, last_reminder_date__isnull=False)
        .filter(
            Q(last_reminder_sent_on__isnull=True) | Q(last_reminder_sent_on__lt=F("last_reminder_date")),
        )
        .update(last_reminder_sent_on=F("last_reminder_date"))
    )
    if not claimed:
        return False
    try:
        message.send()
    except Exception:
        ReviewSettings.objects.filter(user=user).update(last_reminder_sent_on=None)
        raise
    return True

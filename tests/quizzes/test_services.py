from datetime import timedelta

import pytest

from quizzes import services
from quizzes.models import Card, Question, ReviewLog

from .conftest import question_make

pytestmark = pytest.mark.django_db


def review(card, rating, at, *, key=None, correct=None):
    return services.review_record(
        card=card,
        rating=rating,
        answered_at=at,
        duration_ms=4000,
        answer="x",
        correct=rating > 1 if correct is None else correct,
        idempotency_key=key or f"{card.pk}-{at.isoformat()}",
    )


def test_the_shipped_lessons_questions_load_as_approved_and_linked(loaded_course, lora_lesson):
    questions = Question.objects.filter(section__lesson=lora_lesson)
    assert questions.count() == len(lora_lesson.questions) == 8
    assert set(questions.values_list("status", flat=True)) == {"approved"}
    rank = questions.get(prompt__startswith="What is the rank of the matrix")
    assert rank.answer == "1" and rank.options == ["1", "2", "3", "4"]
    assert rank.section.heading == "Matrix rank in engineering terms"
    assert [c.term for c in rank.concepts.all()] == ["rank"]


def test_chinese_questions_find_concepts_by_their_chinese_aliases(loaded_course, lora_lesson_zh):
    questions = Question.objects.filter(section__lesson=lora_lesson_zh, language="zh-hans")
    assert questions.count() == len(lora_lesson_zh.questions)
    assert all(q.section is not None for q in questions)
    assert all(q.concepts.exists() for q in questions)


def test_loading_twice_changes_nothing_and_keeps_cards(loaded_course, alice, now):
    services.cards_create_for_course(user=alice, course=loaded_course, now=now)
    before = (Question.objects.count(), Card.objects.count())
    services.handwritten_questions_load(course=loaded_course)
    assert (Question.objects.count(), Card.objects.count()) == before


def test_a_question_removed_from_its_file_is_retired_and_a_rejected_one_stays_rejected(loaded_course, lora_lesson):
    first = Question.objects.get(key__endswith=f"{lora_lesson.slug}:en:0")
    services.question_reject(question=first, reason="ambiguous")
    lora_lesson.questions = lora_lesson.questions[:-1]
    lora_lesson.save()
    services.handwritten_questions_load(course=loaded_course)
    first.refresh_from_db()
    assert first.status == "rejected"
    assert Question.objects.get(key__endswith=f"{lora_lesson.slug}:en:7").status == "retired"


def test_a_course_gives_the_learner_cards_in_their_language_only(loaded_course, alice, now):
    assert services.cards_create_for_course(user=alice, course=loaded_course, now=now) == 8
    assert set(Card.objects.filter(user=alice).values_list("question__language", flat=True)) == {"en"}
    alice.profile.language = "zh-hans"
    alice.profile.save()
    Card.objects.all().delete()
    services.cards_create_for_course(user=alice, course=loaded_course, now=now)
    assert set(Card.objects.filter(user=alice).values_list("question__language", flat=True)) == {"zh-hans"}


def test_creating_cards_twice_creates_them_once(loaded_course, alice, now):
    services.cards_create_for_course(user=alice, course=loaded_course, now=now)
    assert services.cards_create_for_course(user=alice, course=loaded_course, now=now) == 0


def test_a_card_comes_back_on_the_fsrs_schedule(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    review(card, ReviewLog.Rating.GOOD, now)
    card.refresh_from_db()
    assert card.reps == 1 and card.due == now + timedelta(minutes=10)  # the second learning step
    review(card, ReviewLog.Rating.GOOD, card.due)
    card.refresh_from_db()
    assert card.fsrs["state"] == 2 and card.due - now >= timedelta(days=2)
    later = card.due
    review(card, ReviewLog.Rating.GOOD, later)
    card.refresh_from_db()
    assert card.due - later > later - now, "each successful review spaces the next one further out"
    assert card.reps == 3 and card.lapses == 0


def test_forgetting_a_review_card_counts_a_lapse_and_eight_make_a_leech(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    at = now
    for _ in range(2):
        review(card, ReviewLog.Rating.GOOD, at)
        card.refresh_from_db()
        at = card.due
    for lapse in range(1, 9):
        review(card, ReviewLog.Rating.AGAIN, at)
        card.refresh_from_db()
        assert card.lapses == lapse
        review(card, ReviewLog.Rating.GOOD, card.due)
        card.refresh_from_db()
        at = card.due
    assert card.is_leech


def test_a_retried_submission_counts_once(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    first = review(card, ReviewLog.Rating.GOOD, now, key="same-key")
    again = review(card, ReviewLog.Rating.EASY, now + timedelta(seconds=1), key="same-key")
    card.refresh_from_db()
    assert again.pk == first.pk and card.reps == 1 and ReviewLog.objects.count() == 1


def test_undo_puts_the_card_back_as_it_was(alice, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    review(card, ReviewLog.Rating.GOOD, now)
    card.refresh_from_db()
    before = (card.fsrs, card.due, card.reps)
    review(card, ReviewLog.Rating.AGAIN, card.due)
    restored = services.review_undo(user=alice, now=now + timedelta(minutes=11))
    restored.refresh_from_db()
    assert (restored.fsrs, restored.due, restored.reps) == before
    assert ReviewLog.objects.filter(undone_at__isnull=False).count() == 1
    assert ReviewLog.objects.count() == 2, "the undone review stays in the log"


def test_undo_never_touches_someone_elses_card(alice, mallory, now):
    card = Card.objects.create(user=alice, question=question_make(), due=now)
    review(card, ReviewLog.Rating.GOOD, now)
    assert services.review_undo(user=mallory, now=now) is None
    card.refresh_from_db()
    assert card.reps == 1

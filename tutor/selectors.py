"""Reads: a learner's own conversations and answers; anyone else's is a 404, never a 403."""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from content.models import Course, LessonRead
from quizzes.models import Card
from quizzes.selectors import question_for_user

from .models import Answer, Conversation


def conversations_of(*, user):
    return Conversation.objects.filter(user=user)


def conversation_for_user(*, user, conversation_id) -> Conversation:
    return get_object_or_404(conversations_of(user=user), id=conversation_id)


def answers_of(*, user):
    return Answer.objects.filter(conversation__user=user)


def answer_for_user(*, user, answer_id) -> Answer:
    return get_object_or_404(answers_of(user=user).select_related("conversation"), id=answer_id)


def missed_question_for_user(*, user, question_id, wrong_answer: str) -> dict | None:
    """The quiz question a learner missed, when the tutor is opened from Today; only one the learner may see."""
    if not question_id:
        return None
    question = question_for_user(user=user, question_id=question_id)
    if question is None:
        return None
    return {"id": question.id, "prompt": question.prompt, "answer": wrong_answer or "", "expected": question.answer}


# The course every learner has (content/courses/llm-basics, loaded by `make run` and on deploy).
SHIPPED_COURSE_SLUG = "llm-basics"


def searchable_course_ids(*, user) -> list[int] | None:
    """The courses the tutor may search for this learner; None means every course (staff).

    A learner sees the shipped course and the courses they have started: cards in their deck (which is also how a
    course assigned to their team reaches them: the assignment creates those cards) or a lesson read. An upload
    into some other course therefore reaches no one's tutor until it is given to them.
    """
    if user.is_staff:
        return None
    return list(
        Course.objects.filter(
            Q(slug=SHIPPED_COURSE_SLUG)
            | Q(id__in=Card.objects.filter(user=user).values("question__section__lesson__course_id"))
            | Q(id__in=LessonRead.objects.filter(user=user).values("course_id"))
        ).values_list("id", flat=True)
    )

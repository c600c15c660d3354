"""Reads: a learner's own conversations and answers; anyone else's is a 404, never a 403."""

from django.shortcuts import get_object_or_404

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

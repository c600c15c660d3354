"""Issue 10 item 5: a question, card, answer or conversation is only reachable by id for those who may see it."""

import pytest
from django.urls import reverse

from quizzes.models import Question
from tests.tutor.test_views import ask
from tutor.models import Conversation

pytestmark = pytest.mark.django_db

PRIVATE_PROMPT = "What did alice note about her salary review?"
PRIVATE_ANSWER = "alice-private-expected-answer"


@pytest.fixture
def alices_private_card(alice, course):
    return Question.objects.create(
        type=Question.Type.FREE_TEXT,
        prompt=PRIVATE_PROMPT,
        answer=PRIVATE_ANSWER,
        origin=Question.Origin.TUTOR,
        status=Question.Status.APPROVED,
        owner=alice,
    )


def test_mallory_cannot_open_alices_private_card_in_the_tutor(client, alice, mallory, alices_private_card):
    client.force_login(mallory)
    response = client.get(reverse("tutor"), {"question": alices_private_card.id, "answer": "x"})
    assert response.status_code == 200
    assert PRIVATE_PROMPT not in response.text and PRIVATE_ANSWER not in response.text
    client.force_login(alice)
    assert PRIVATE_PROMPT in client.get(reverse("tutor"), {"question": alices_private_card.id}).text


def test_mallory_cannot_put_alices_expected_answer_into_her_conversation(client, mallory, alices_private_card):
    client.force_login(mallory)
    ask(client, "Why is my answer wrong?", missed_question=alices_private_card.id, missed_answer="x")
    conversation = Conversation.objects.get(user=mallory)
    assert conversation.missed == {}
    assert PRIVATE_ANSWER not in str(conversation.answers.get().__dict__)


def test_a_draft_shared_question_is_not_shown_by_id(client, mallory, course):
    draft = Question.objects.create(
        type=Question.Type.FREE_TEXT,
        prompt="An unreviewed draft prompt",
        answer="a",
        origin=Question.Origin.LLM,
        status=Question.Status.DRAFT,
    )
    client.force_login(mallory)
    assert "An unreviewed draft prompt" not in client.get(reverse("tutor"), {"question": draft.id}).text


def test_mallory_cannot_reach_alices_conversation_or_answers(client, alice, mallory, course):
    client.force_login(alice)
    answer, _ = ask(client, "What is self-attention?")
    client.force_login(mallory)
    conversation = answer.conversation
    assert client.get(conversation.get_absolute_url()).status_code == 404
    assert client.post(reverse("tutor_conversation_delete", args=[conversation.id])).status_code == 404
    assert client.get(reverse("tutor_answer_stream", args=[answer.id])).status_code == 404
    for name in ("tutor_reveal", "tutor_feedback", "tutor_card"):
        assert client.post(reverse(name, args=[answer.id]), {"helpful": "1"}).status_code == 404
    response = client.post(reverse("tutor_ask"), {"question": "More?", "conversation": conversation.id})
    assert response.status_code == 404
    assert Conversation.objects.filter(user=alice).count() == 1 and conversation.answers.count() == 1

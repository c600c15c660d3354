"""'Make a card from this': a tutor answer becomes a checked short-answer card in the learner's own deck."""

import pytest
from django.urls import reverse

from quizzes.models import Card, Question
from tests.tutor.test_views import ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_an_offline_answer_becomes_a_card_in_alices_deck_only(alice_client, alice, mallory, course):
    answer, _ = ask(alice_client, "What is self-attention?")
    response = alice_client.post(reverse("tutor_card", args=[answer.id]), headers={"HX-Request": "true"})
    assert "Added to your deck" in response.text
    question = Question.objects.get(owner=alice)
    assert question.status == Question.Status.APPROVED
    assert question.type == Question.Type.FREE_TEXT and question.prompt == "What is self-attention?"
    assert "[1]" not in question.answer and question.evidence in question.section.body.replace("**", "")
    assert Card.objects.filter(user=alice, question=question).exists()
    assert not Card.objects.filter(user=mallory).exists()


def test_making_the_same_card_twice_is_refused_as_a_near_duplicate(alice_client, alice, course):
    answer, _ = ask(alice_client, "What is self-attention?")
    alice_client.post(reverse("tutor_card", args=[answer.id]), headers={"HX-Request": "true"})
    response = alice_client.post(reverse("tutor_card", args=[answer.id]), headers={"HX-Request": "true"})
    assert "Not added: near-duplicate" in response.text
    assert Card.objects.filter(user=alice).count() == 1


def test_mallory_cannot_make_a_card_from_alices_answer(client, alice, mallory, course):
    client.force_login(alice)
    answer, _ = ask(client, "What is self-attention?")
    client.force_login(mallory)
    assert client.post(reverse("tutor_card", args=[answer.id])).status_code == 404
    assert not Question.objects.filter(owner=mallory).exists()

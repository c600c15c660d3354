import re

import pytest
from django.urls import reverse
from django.utils import timezone

from quizzes import services
from quizzes.models import Card, ReviewLog

from .conftest import question_make

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def answer(client, card, **data):
    return client.post(
        reverse("today_answer"),
        {"card": card.pk, "shown_at": int(timezone.now().timestamp() * 1000) - 9000, **data},
        **HTMX,
    )


def test_a_new_learner_is_invited_to_start_the_shipped_course(client, alice, loaded_course):
    client.force_login(alice)
    page = client.get(reverse("today")).content.decode()
    assert "Start “How LLMs work”" in page
    client.post(reverse("today_start"), {"course": loaded_course.pk}, **HTMX)
    assert Card.objects.filter(user=alice).count() == 8


def test_a_right_answer_gets_feedback_a_proposed_rating_and_intervals(client, alice, loaded_course):
    client.force_login(alice)
    services.cards_create_for_course(user=alice, course=loaded_course)
    page = client.get(reverse("today")).content.decode()
    card = Card.objects.get(pk=field(page, "card"))
    question = card.question
    data = (
        {"choice": question.options.index(question.answer)} if question.type == "mcq" else {"answer": question.answer}
    )
    feedback = answer(client, card, **data).content.decode()
    assert "Right" in feedback and question.explanation in feedback
    assert question.section.get_absolute_url() in feedback
    assert re.search(r'value="3"[^>]*data-proposed', feedback), "right in 9 s proposes Good"
    assert "10 min" in feedback, "each button shows the interval it would give"
    assert "Explain with the tutor" not in feedback


def test_a_wrong_answer_proposes_again_and_offers_the_tutor(client, alice):
    client.force_login(alice)
    question = question_make(answer="attention", prompt="Tokens look at each other through ____.")
    card = Card.objects.create(user=alice, question=question, due=timezone.now())
    feedback = answer(client, card, answer="magic words").content.decode()
    assert "Not quite" in feedback
    assert re.search(r'value="1"[^>]*data-proposed', feedback)
    assert f"/tutor/?question={question.pk}&amp;answer=magic+words" in feedback


def test_rating_records_one_review_and_shows_the_next_card(client, alice):
    client.force_login(alice)
    first = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    second = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    feedback = answer(client, first, answer="token").content.decode()
    rate = {"token": field(feedback, "token"), "rating": "3"}
    page = client.post(reverse("today_rate"), rate, **HTMX).content.decode()
    assert f'name="card" value="{second.pk}"' in page
    client.post(reverse("today_rate"), rate, **HTMX)  # a double click sends the same token again
    assert ReviewLog.objects.filter(card=first).count() == 1
    first.refresh_from_db()
    assert first.reps == 1


def test_answer_and_rate_use_a_fixed_number_of_queries(client, alice, django_assert_max_num_queries):
    client.force_login(alice)
    cards = [Card.objects.create(user=alice, question=question_make(), due=timezone.now()) for _ in range(5)]
    services.review_settings_for(user=alice)
    client.get(reverse("today"))
    # Each request reads the session, the user and the profile; then the answer is one query for the card with the
    # learner's settings, and a rating records itself and picks the next card in a single statement.
    with django_assert_max_num_queries(4):
        feedback = answer(client, cards[0], answer="token").content.decode()
    with django_assert_max_num_queries(4):
        client.post(reverse("today_rate"), {"token": field(feedback, "token"), "rating": "3"}, **HTMX)
    with django_assert_max_num_queries(4):
        client.get(reverse("today"), **HTMX)


def test_undo_brings_the_last_card_back(client, alice):
    client.force_login(alice)
    card = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    feedback = answer(client, card, answer="token").content.decode()
    client.post(reverse("today_rate"), {"token": field(feedback, "token"), "rating": "4"}, **HTMX)
    page = client.post(reverse("today_undo"), **HTMX).content.decode()
    assert f'name="card" value="{card.pk}"' in page
    card.refresh_from_db()
    assert card.reps == 0


def test_mallory_cannot_answer_or_rate_alices_card(client, alice, mallory):
    card = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    client.force_login(alice)
    token = field(answer(client, card, answer="token").content.decode(), "token")
    client.force_login(mallory)
    assert answer(client, card, answer="token").status_code == 404
    response = client.post(reverse("today_rate"), {"token": token, "rating": "3"}, **HTMX)
    assert response.status_code == 404
    assert not ReviewLog.objects.exists()


def test_mallory_never_sees_alices_cards_on_today(client, alice, mallory):
    Card.objects.create(user=alice, question=question_make(prompt="Alice's secret ____"), due=timezone.now())
    client.force_login(mallory)
    assert "Alice's secret" not in client.get(reverse("today")).content.decode()


def test_quiz_me_on_this_lesson_starts_that_lessons_questions(client, alice, loaded_course, lora_lesson):
    client.force_login(alice)
    response = client.post(reverse("today_lesson_start"), {"lesson": lora_lesson.pk})
    assert response.status_code == 302 and response["Location"] == reverse("today") + f"?lesson={lora_lesson.pk}"
    page = client.get(response["Location"]).content.decode()
    card = Card.objects.get(pk=field(page, "card"))
    assert card.question.section.lesson == lora_lesson
    assert Card.objects.filter(user=alice).count() == 8
    assert f'name="lesson" value="{lora_lesson.pk}"' in page


def test_opening_a_lesson_quiz_link_only_filters_and_offers_the_button(client, alice, loaded_course, lora_lesson):
    client.force_login(alice)
    page = client.get(reverse("today") + f"?lesson={lora_lesson.pk}").content.decode()
    assert not Card.objects.filter(user=alice).exists(), "a GET never creates cards"
    assert reverse("today_lesson_start") in page and "Quiz me on this lesson" in page
    assert f'name="lesson" value="{lora_lesson.pk}"' in page


@pytest.mark.parametrize("name", ["today_start", "today_lesson_start", "today_answer", "today_rate", "today_undo"])
def test_each_session_step_refuses_a_get(client, alice, name):
    client.force_login(alice)
    Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    assert client.get(reverse(name)).status_code == 405
    assert not ReviewLog.objects.exists()


def test_a_lesson_quiz_keeps_to_that_lesson_through_rating_and_undo(client, alice, loaded_course, lora_lesson):
    client.force_login(alice)
    other = Card.objects.create(user=alice, question=question_make(prompt="Another lesson's ____"), due=timezone.now())
    client.post(reverse("today_lesson_start"), {"lesson": lora_lesson.pk})
    page = client.get(reverse("today") + f"?lesson={lora_lesson.pk}", **HTMX).content.decode()
    card = Card.objects.get(pk=field(page, "card"))
    question = card.question
    data = (
        {"choice": question.options.index(question.answer)} if question.type == "mcq" else {"answer": question.answer}
    )
    feedback = answer(client, card, lesson=lora_lesson.pk, **data).content.decode()
    rate = {"token": field(feedback, "token"), "rating": "3", "lesson": lora_lesson.pk}
    page = client.post(reverse("today_rate"), rate, **HTMX).content.decode()
    assert f'name="lesson" value="{lora_lesson.pk}"' in page and f'name="card" value="{other.pk}"' not in page
    response = client.post(reverse("today_undo"), {"lesson": lora_lesson.pk})
    assert response["Location"] == reverse("today") + f"?lesson={lora_lesson.pk}"


def test_without_javascript_the_session_still_works(client, alice):
    client.force_login(alice)
    card = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    feedback = client.post(reverse("today_answer"), {"card": card.pk, "shown_at": 0, "answer": "token"})
    assert "<html" in feedback.content.decode() and "Right" in feedback.content.decode()
    response = client.post(reverse("today_rate"), {"token": field(feedback.content.decode(), "token"), "rating": "3"})
    assert response.status_code == 302 and response["Location"] == reverse("today")
    response = client.post(reverse("today_undo"))
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.reps == 0


def test_the_page_speaks_chinese(client, alice):
    alice.profile.language = "zh-hans"
    alice.profile.save()
    client.force_login(alice)
    Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    assert "今天" in client.get(reverse("today")).content.decode()

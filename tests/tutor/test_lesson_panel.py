"""The compact tutor panel on a lesson page: questions asked there are about that lesson, answered in place."""

import pytest
from django.urls import reverse

from content.models import Lesson
from tests.tutor.test_views import events
from tutor.models import Answer

pytestmark = pytest.mark.django_db


def test_a_question_asked_on_a_lesson_page_is_answered_in_place_about_that_lesson(client, alice, course):
    client.force_login(alice)
    lesson = Lesson.objects.get(course=course, slug="lora-and-matrix-rank", language="en")
    page = client.get(reverse("lesson_detail", args=[course.slug, lesson.slug]) + "?lang=en").text
    assert 'id="ask"' in page and f'name="lesson" value="{lesson.id}"' in page

    response = client.post(
        reverse("tutor_ask"),
        {"question": "Why is a low-rank update cheap?", "lesson": lesson.id},
        headers={"HX-Request": "true"},
    )
    answer = Answer.objects.get()
    assert answer.conversation.lesson == lesson
    assert f'sse-connect="/tutor/answers/{answer.id}/stream/"' in response.text
    assert 'id="id_conversation"' in response.text and 'hx-swap-oob="true"' in response.text
    done = events(client.get(reverse("tutor_answer_stream", args=[answer.id])))[-1][1]
    assert "lora-and-matrix-rank" in done

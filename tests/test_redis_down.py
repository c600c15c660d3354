"""Redis is a cache and a broker, never the record: with it stopped, learners still sign in, review and ask."""

import pytest
import requests
from asgiref.sync import async_to_sync
from django.urls import reverse
from django.utils import timezone

from outbox.models import PendingTask
from outbox.services import pending_tasks_send, send_on_commit
from quizzes.models import Card, ReviewLog
from tests.conftest import asgi_server, form_field, process_env, sign_in_over_http
from tests.quizzes.conftest import question_make
from tests.tutor.conftest import course  # noqa: F401 -- the tutor's two-lesson course fixture
from tutor.models import Answer

HTMX = {"HX-Request": "true"}


def answer_and_rate_twice(client, card) -> None:
    shown = int(timezone.now().timestamp() * 1000) - 9000
    feedback = client.post(
        reverse("today_answer"), {"card": card.pk, "shown_at": shown, "answer": "token"}, headers=HTMX
    )
    assert feedback.status_code == 200
    rate = {"token": form_field(feedback.text, "token"), "rating": "3"}
    for _ in range(2):  # the retry after a lost answer sends the same idempotency key again
        assert client.post(reverse("today_rate"), rate, headers=HTMX).status_code == 200


@pytest.mark.django_db
def test_alice_signs_in_reviews_reads_and_asks_the_tutor_while_redis_is_down(
    client,
    alice,
    course,  # noqa: F811 -- the imported fixture, requested by name
    redis_down,
    fake_openai,
    caplog,
):
    response = client.post(reverse("account_login"), {"login": alice.email, "password": "pw-alice-123"})
    assert response.status_code == 302, "allauth's rate limit fails open instead of refusing every login"
    assert client.get(reverse("today")).status_code == 200
    lesson = course.lessons.filter(language="en").first()
    assert client.get(lesson.get_absolute_url()).status_code == 200

    card = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    answer_and_rate_twice(client, card)
    assert ReviewLog.objects.filter(card=card).count() == 1

    response = client.post(reverse("tutor_ask"), {"question": "What is self-attention?"}, headers=HTMX)
    assert response.status_code == 200
    answer = Answer.objects.latest("id")
    stream = client.get(reverse("tutor_answer_stream", args=[answer.id]))

    async def drain():
        return [piece async for piece in stream.streaming_content]

    async_to_sync(drain)()
    answer.refresh_from_db()
    assert answer.status == Answer.Status.DONE and answer.mode == "llm", "the breaker stays closed without Redis"
    assert "Redis is unreachable" in caplog.text


@pytest.mark.django_db
def test_the_detailed_healthz_says_redis_is_down(admin_client, redis_down):
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["ok"] is False


@pytest.mark.django_db
def test_work_queued_while_the_broker_is_down_waits_in_postgresql_and_is_sent_later(
    django_capture_on_commit_callbacks, settings, dead_redis_url
):
    from config.celery_app import app, ping
    from tests.conftest import celery_connected_to

    with celery_connected_to(app, dead_redis_url), django_capture_on_commit_callbacks(execute=True):
        send_on_commit(ping)
    kept = PendingTask.objects.get()
    assert kept.name == "primer.ping" and kept.last_error
    assert pending_tasks_send() == 1, "the broker answers again: the kept message goes out"
    assert not PendingTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_through_the_real_server_alice_signs_in_and_a_rating_counts_once_while_redis_is_down(alice, dead_redis_url):
    card = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    for base in asgi_server(process_env(REDIS_URL=dead_redis_url, TEST_REDIS_URL=dead_redis_url)):
        with requests.Session() as http:
            headers = sign_in_over_http(http, base, alice.email, "pw-alice-123")
            assert http.get(f"{base}/today/", timeout=20).status_code == 200
            shown = int(timezone.now().timestamp() * 1000) - 9000
            feedback = http.post(
                f"{base}/today/answer/",
                data={"card": card.pk, "shown_at": shown, "answer": "token"},
                headers=headers,
                timeout=20,
            )
            assert feedback.status_code == 200
            rate = {"token": form_field(feedback.text, "token"), "rating": "3"}
            for _ in range(2):
                assert http.post(f"{base}/today/rate/", data=rate, headers=headers, timeout=20).status_code == 200
            health = http.get(f"{base}/healthz", timeout=20)
            assert health.status_code == 200, "anonymous callers get liveness only"
    assert ReviewLog.objects.filter(card=card).count() == 1

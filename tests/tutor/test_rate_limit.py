"""Issue 10 item 10: the per-learner question limit holds under concurrent requests to the real ASGI server, and a
Redis outage does not turn the check into an error."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth import get_user_model

from tests.conftest import free_port
from tutor import services
from tutor.models import Answer

LIMIT = 3


@pytest.fixture
def tight_limit(monkeypatch, settings):
    monkeypatch.setenv("TUTOR_QUESTIONS_PER_MINUTE", str(LIMIT))
    settings.TUTOR_QUESTIONS_PER_MINUTE = LIMIT


def signed_in_cookies(base_url: str, email: str, password: str) -> dict:
    client = requests.Session()
    page = client.get(f"{base_url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        f"{base_url}/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    return client.cookies.get_dict()


@pytest.mark.django_db(transaction=True)
def test_twenty_questions_at_once_get_exactly_the_limit_answered(tight_limit, course, alice, live_server_process):
    cookies = signed_in_cookies(live_server_process, alice.email, "pw-alice-123")
    headers = {"X-CSRFToken": cookies["csrftoken"], "HX-Request": "true"}

    def ask(n):
        return requests.post(
            f"{live_server_process}/tutor/ask/",
            data={"question": f"What is attention, take {n}?"},
            headers=headers,
            cookies=cookies,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(ask, range(20)))
    assert all(r.status_code == 200 for r in responses)
    assert Answer.objects.filter(conversation__user=alice).count() == LIMIT
    assert sum("faster than the tutor can keep up" in r.text for r in responses) == 20 - LIMIT


@pytest.mark.django_db
def test_with_redis_down_the_check_falls_back_to_counting(settings, alice, caplog):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    assert services.check_can_ask(user=alice) is None
    assert "Redis unavailable" in caplog.text
    assert get_user_model().objects.filter(pk=alice.pk).exists()

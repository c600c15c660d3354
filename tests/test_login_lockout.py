"""Issue 10 item 10: a stranger's wrong passwords for alice's address lock out the stranger, not alice."""

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


def log_in(client, email, password, ip):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.delete_pattern("*allauth:rl*")
    yield
    cache.delete_pattern("*allauth:rl*")


def test_failed_logins_from_one_address_do_not_lock_the_account_elsewhere(client, alice):
    for _ in range(6):
        log_in(client, alice.email, "wrong-password", "203.0.113.9")
    refused = log_in(client, alice.email, "pw-alice-123", "203.0.113.9")
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    response = log_in(client, alice.email, "pw-alice-123", "198.51.100.7")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from teams import services
from teams.models import DigestSent
from teams.tasks import digest_send_weekly

from .conftest import in_days


def test_carol_gets_one_digest_a_week_however_often_the_task_runs(team, carol, course, eager_tasks):
    services.assignment_create(team=team, course=course, due_on=in_days(14), created_by=carol)
    week = services.week_start(timezone.localdate())
    assert services.digest_send(team_id=team.id, week=week) == 1
    assert services.digest_send(team_id=team.id, week=week) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.com"]
    assert "alice" in message.body and "bob" in message.body
    assert f"/team/{team.id}/" in message.body
    assert DigestSent.objects.filter(team=team, manager=carol, week=week).count() == 1
    assert services.digest_send(team_id=team.id, week=week + dt.timedelta(days=7)) == 1
    assert len(mail.outbox) == 2


def test_the_beat_task_mails_every_teams_managers_and_no_learner(team, carol, alice, other_team, mallory, eager_tasks):
    digest_send_weekly.delay()
    digest_send_weekly.delay()
    assert sorted(m.to[0] for m in mail.outbox) == ["carol@example.com", "mallory@example.com"]


def test_a_manager_reads_the_digest_in_their_language(team, carol, eager_tasks):
    carol.profile.language = "zh-hans"
    carol.profile.save(update_fields=["language"])
    services.digest_send(team_id=team.id, week=services.week_start(timezone.localdate()))
    assert "每周" in mail.outbox[0].subject


def test_the_weekly_digest_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["teams-weekly-digest"]
    assert entry["task"] == "teams.tasks.digest_send_weekly"


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw"
    )
    client.force_login(admin)
    return client


def test_the_django_admin_manages_people_teams_and_content(admin_client, team, carol, course):
    services.invitation_create(team=team, created_by=carol, max_uses=2)
    services.assignment_create(team=team, course=course, due_on=in_days(3), created_by=carol)
    for name in [
        "auth_user",
        "teams_organization",
        "teams_team",
        "teams_membership",
        "teams_invitation",
        "teams_assignment",
        "teams_digestsent",
        "content_course",
        "content_lesson",
        "content_concept",
    ]:
        assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert admin_client.get(reverse("admin:teams_team_change", args=[team.id])).status_code == 200
    assert admin_client.get(reverse("admin:auth_user_change", args=[carol.id])).status_code == 200


def test_an_admin_made_invitation_gets_a_token(admin_client, team):
    response = admin_client.post(
        reverse("admin:teams_invitation_add"),
        {
            "team": team.id,
            "email": "",
            "role": "learner",
            "max_uses": 3,
            "expires_at_0": in_days(5).isoformat(),
            "expires_at_1": "12:00:00",
        },
    )
    assert response.status_code == 302
    assert len(team.invitations.get().token) > 20


def test_single_sign_on_is_off_unless_configured_and_on_when_it_is():
    assert "allauth.socialaccount.providers.openid_connect" not in settings.INSTALLED_APPS
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "OIDC_SERVER_URL": "https://id.example.com",
        "OIDC_CLIENT_ID": "primer",
        "OIDC_CLIENT_SECRET": "s3cret",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'][0]['settings']['server_url'], "
        "'allauth.socialaccount.providers.openid_connect' in s.INSTALLED_APPS)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert out.stdout.split() == ["https://id.example.com", "True"], out.stderr
    env.pop("OIDC_CLIENT_SECRET")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert "ImproperlyConfigured" in out.stderr


def test_carol_assigns_a_course_to_one_learner_with_a_deadline(client, team, carol, bob, course):
    client.force_login(carol)
    response = client.post(
        reverse("team_assignments", args=[team.id]),
        {"course": course.id, "learner": bob.id, "due_on": in_days(9).isoformat()},
    )
    assert response.status_code == 302
    assignment = team.assignments.get()
    assert (assignment.learner, assignment.due_on) == (bob, in_days(9))


def test_a_due_date_in_the_past_is_refused(client, team, carol, course):
    client.force_login(carol)
    response = client.post(
        reverse("team_assignments", args=[team.id]), {"course": course.id, "due_on": in_days(-1).isoformat()}
    )
    assert response.status_code == 200 and not team.assignments.exists()


def test_the_assignments_include_shows_the_learners_deadlines(client, team, carol, alice, course):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    services.assignment_create(team=team, course=course, due_on=in_days(4), created_by=carol)
    request = RequestFactory().get("/today/")
    request.user = alice
    with translation.override("en"):
        html = render_to_string("teams/_assignments.html", {"request": request})
    assert "LLM basics (test)" in html and "in 4 days" in html
    request.user = carol.__class__.objects.create_user(username="x@example.com", email="x@example.com")
    assert "LLM basics" not in render_to_string("teams/_assignments.html", {"request": request})

"""Each app registers its own models in the Django admin, and a staff superuser can open every one of them."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from quizzes import services as quiz_services
from quizzes.models import Card, GenerationRun
from teams import services as team_services
from teams.models import Membership, Organization, Role, Team
from tests.teams.conftest import make_course
from tutor.models import Answer, Conversation, Feedback

APPS = ("content", "quizzes", "tutor", "teams")


@pytest.fixture
def root_client(client, django_user_model):
    root = django_user_model.objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw-root-123"
    )
    client.force_login(root)
    return client


@pytest.fixture
def something_of_everything(db, alice):
    """A row in each registered table, so that every list column and filter has something to show."""
    carol = get_user_model().objects.create_user(username="carol@example.com", email="carol@example.com")
    course = make_course()
    organization = Organization.objects.create(name="Acme", slug="acme")
    team = Team.objects.create(organization=organization, name="Platform")
    Membership.objects.create(team=team, user=alice, role=Role.LEARNER)
    Membership.objects.create(team=team, user=carol, role=Role.MANAGER)
    team_services.invitation_create(team=team, created_by=carol, max_uses=2)
    team_services.assignment_create(team=team, course=course, due_on=timezone.localdate(), created_by=carol)
    quiz_services.cards_create_for_course(user=alice, course=course)
    quiz_services.review_record(
        card=Card.objects.filter(user=alice).first(),
        rating=3,
        answered_at=timezone.now(),
        duration_ms=3000,
        correct=True,
        idempotency_key="admin-test",
    )
    quiz_services.review_settings_for(user=alice)
    conversation = Conversation.objects.create(user=alice, title="What is attention?", course=course)
    answer = Answer.objects.create(conversation=conversation, question="What is attention?", text="It weighs tokens.")
    Feedback.objects.create(answer=answer, helpful=False, comment="too short")
    GenerationRun.objects.create(
        course=course,
        finished_at=timezone.now(),
        without_model=[{"section": 1, "heading": "Tokens", "reason": "the model timed out after 120 s"}],
    )


def test_each_app_registers_its_own_models():
    for model, model_admin in admin.site._registry.items():
        app = model._meta.app_label
        if app in APPS:
            assert type(model_admin).__module__ == f"{app}.admin", model
    # The people admin (user, profile and teams together) is the one registration of another app's model.
    assert type(admin.site._registry[get_user_model()]).__module__ == "teams.admin"
    registered = {(m._meta.app_label, m._meta.model_name) for m in admin.site._registry}
    assert {
        ("content", "course"),
        ("content", "source"),
        ("content", "lesson"),
        ("content", "concept"),
        ("quizzes", "question"),
        ("quizzes", "card"),
        ("quizzes", "reviewlog"),
        ("quizzes", "reviewsettings"),
        ("quizzes", "generationrun"),
        ("tutor", "answer"),
        ("tutor", "feedback"),
        ("tutor", "conversation"),
    } <= registered


def test_a_superuser_opens_every_registered_model_in_the_admin(root_client, something_of_everything):
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert root_client.get(reverse(f"{name}_changelist")).status_code == 200, name
        first = model._default_manager.first()
        if first is not None:
            assert root_client.get(reverse(f"{name}_change", args=[first.pk])).status_code == 200, name


def test_the_tutor_feedback_filter_finds_the_low_rated_answers(root_client, something_of_everything):
    page = root_client.get(reverse("admin:tutor_answer_changelist") + "?rating=low").content.decode()
    assert "What is attention?" in page and "too short" in page
    assert (
        "What is attention?"
        not in root_client.get(reverse("admin:tutor_answer_changelist") + "?rating=high").content.decode()
    )


def test_staff_read_why_a_section_got_rule_built_questions(root_client, something_of_everything):
    run = GenerationRun.objects.get()
    page = root_client.get(reverse("admin:quizzes_generationrun_change", args=[run.pk])).content.decode()
    assert "the model timed out after 120 s" in page

import datetime as dt

import pytest
from django.utils import timezone

from content.models import Concept, Course, Lesson, Section, Source
from teams.models import Membership, Organization, Role, Team


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process, for tests about what a task does rather than how it travels."""
    from config.celery_app import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


def make_course(slug="llm-test", concepts=("Attention", "LoRA", "RLHF"), lessons=2, per_concept=2) -> Course:
    """A small course: lessons with one section each, concepts, and approved questions tagged with them."""
    from quizzes.models import Question

    course = Course.objects.create(slug=slug, title="LLM basics (test)", title_zh="大模型入门（测试）")
    source = Source.objects.create(course=course, name=f"{slug}.md", content_hash="x")
    sections = []
    for n in range(lessons):
        for language in ("en", "zh-hans"):
            lesson = Lesson.objects.create(
                course=course,
                source=source,
                slug=f"lesson-{n}",
                language=language,
                order=n,
                title=f"Lesson {n} {language}",
            )
            section = Section.objects.create(lesson=lesson, position=0, heading="Intro", anchor="intro", body="…")
            if language == "en":
                sections.append(section)
    for i, term in enumerate(concepts):
        concept = Concept.objects.create(course=course, slug=term.lower(), term=term, term_zh=f"{term}（中）")
        for q in range(per_concept):
            question = Question.objects.create(
                key=f"{slug}:{term}:{q}",
                type="cloze",
                prompt=f"What is {term}? ({q})",
                answer=term,
                section=sections[i % len(sections)],
                language="en",
                origin="handwritten",
                status="approved",
            )
            question.concepts.add(concept)
    return course


@pytest.fixture
def course(db):
    return make_course()


@pytest.fixture
def team(db, alice, bob, carol):
    """Acme's new hires: alice and bob learn, carol manages."""
    organization = Organization.objects.create(name="Acme", slug="acme")
    team = Team.objects.create(organization=organization, name="New hires")
    Membership.objects.create(team=team, user=alice, role=Role.LEARNER)
    Membership.objects.create(team=team, user=bob, role=Role.LEARNER)
    Membership.objects.create(team=team, user=carol, role=Role.MANAGER)
    return team


@pytest.fixture
def other_team(db, mallory):
    """Another organization, administered by mallory: she must see nothing of Acme and Acme nothing of hers."""
    organization = Organization.objects.create(name="Globex", slug="globex")
    team = Team.objects.create(organization=organization, name="Globex hires")
    Membership.objects.create(team=team, user=mallory, role=Role.ADMIN)
    return team


def in_days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)

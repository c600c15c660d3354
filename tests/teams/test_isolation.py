"""Every teams view, seen by someone who must not see it: the answer is 404, as if the team did not exist."""

import pytest
from django.urls import reverse

from teams import selectors, services
from teams.models import Membership, Organization, Role, Team

from .conftest import in_days


@pytest.fixture
def team_urls(team, carol, course):
    invitation = services.invitation_create(team=team, created_by=carol, max_uses=3)
    return {
        "get": [
            reverse("team_dashboard", args=[team.id]),
            reverse("team_dashboard", args=[team.id]) + f"?course={course.id}",
            reverse("team_dashboard_csv", args=[team.id]),
            reverse("team_people", args=[team.id]),
            reverse("team_assignments", args=[team.id]),
        ],
        "post": [
            reverse("team_people", args=[team.id]),
            reverse("team_assignments", args=[team.id]),
            reverse("invitation_revoke", args=[team.id, invitation.id]),
        ],
    }


def test_an_outsider_gets_404_from_every_team_view(client, team_urls, mallory, other_team):
    client.force_login(mallory)
    for url in team_urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in team_urls["post"]:
        assert (
            client.post(url, {"email": "", "role": "learner", "max_uses": 2, "expires_in_days": 3}).status_code == 404
        ), url


def test_a_learner_gets_404_from_their_own_teams_manager_views(client, team_urls, alice):
    client.force_login(alice)
    for url in team_urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in team_urls["post"]:
        assert client.post(url).status_code == 404, url


def test_carol_sees_her_team_and_not_a_team_she_does_not_manage(client, team, carol, other_team):
    client.force_login(carol)
    assert client.get(reverse("team_dashboard", args=[team.id])).status_code == 200
    assert client.get(reverse("team_dashboard", args=[other_team.id])).status_code == 404
    assert client.get(reverse("team_dashboard", args=[987654])).status_code == 404


def test_a_course_the_team_was_not_assigned_is_a_404_on_the_dashboard(client, team, carol, course):
    client.force_login(carol)
    assert client.get(reverse("team_dashboard", args=[team.id]) + f"?course={course.id}").status_code == 404


def test_an_admin_administers_every_team_of_their_organization_and_nothing_of_another(team, other_team, mallory, carol):
    sibling = Team.objects.create(organization=other_team.organization, name="Globex interns")
    assert set(selectors.teams_managed_by(user=mallory)) == {other_team, sibling}
    assert set(selectors.teams_managed_by(user=carol)) == {team}
    assert list(selectors.organizations_administered_by(user=mallory)) == [other_team.organization]


def test_an_outsider_cannot_assign_to_a_learner_of_another_team(client, team, carol, course, mallory, other_team):
    client.force_login(carol)
    response = client.post(
        reverse("team_assignments", args=[team.id]),
        {"course": course.id, "learner": mallory.id, "due_on": in_days(10).isoformat()},
    )
    assert response.status_code == 200
    assert "learner" in response.context["form"].errors
    assert not team.assignments.exists()


def test_a_learner_sees_only_assignments_meant_for_them(team, alice, bob, carol, course, mallory, other_team):
    services.assignment_create(team=team, course=course, due_on=in_days(10), created_by=carol)
    services.assignment_create(team=team, course=course, due_on=in_days(5), created_by=carol, learner=bob)
    services.assignment_create(team=other_team, course=course, due_on=in_days(3), created_by=mallory)
    assert [a.due_on for a in selectors.assignments_for_learner(user=alice)] == [in_days(10)]
    assert [a.due_on for a in selectors.assignments_for_learner(user=bob)] == [in_days(5), in_days(10)]
    assert [a.due_on for a in selectors.assignments_for_learner(user=mallory)] == [in_days(3)]


def test_the_team_page_shows_each_person_only_their_own_teams(client, team, alice, mallory, other_team):
    client.force_login(alice)
    page = client.get(reverse("team")).content.decode()
    assert "New hires" in page and "Globex" not in page
    client.force_login(mallory)
    page = client.get(reverse("team")).content.decode()
    assert "Globex hires" in page and "New hires" not in page


def test_someone_without_a_team_can_start_an_organization(client, mallory):
    client.force_login(mallory)
    response = client.post(reverse("team"), {"name": "Initech", "team_name": "Cohort 1"})
    organization = Organization.objects.get(name="Initech")
    team = organization.teams.get()
    assert response.status_code == 302 and response.url == reverse("team_people", args=[team.id])
    assert Membership.objects.get(team=team, user=mallory).role == Role.ADMIN

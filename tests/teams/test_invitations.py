import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from teams import services
from teams.models import Invitation, Membership, Role


@pytest.fixture
def newhire(django_user_model):
    return django_user_model.objects.create_user(
        username="dave@example.com", email="dave@example.com", password="pw-dave-123"
    )


def test_carol_invites_a_new_hire_by_email_and_the_mail_carries_the_join_link(
    client, team, carol, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("team_people", args=[team.id]),
            {"email": "Dave@Example.com", "role": "learner", "max_uses": 5, "expires_in_days": 7},
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "dave@example.com" and invitation.max_uses == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dave@example.com"]
    assert f"http://testserver/team/join/{invitation.token}/" in mail.outbox[0].body


def test_the_new_hire_joins_with_the_emailed_invitation(client, team, carol, newhire):
    invitation = services.invitation_create(team=team, created_by=carol, email="dave@example.com")
    client.force_login(newhire)
    assert client.get(reverse("team_join", args=[invitation.token])).status_code == 200
    response = client.post(reverse("team_join", args=[invitation.token]))
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=newhire).role == Role.LEARNER
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_an_email_invitation_works_only_once(team, carol, newhire, mallory):
    invitation = services.invitation_create(team=team, created_by=carol, email="dave@example.com")
    services.invitation_accept(token=invitation.token, user=newhire)
    with pytest.raises(Invitation.DoesNotExist):
        services.invitation_accept(token=invitation.token, user=mallory)


def test_an_email_invitation_refuses_someone_with_another_address(client, team, carol, mallory):
    invitation = services.invitation_create(team=team, created_by=carol, email="dave@example.com")
    client.force_login(mallory)
    response = client.post(reverse("team_join", args=[invitation.token]))
    assert response.status_code == 200
    assert "another email address" in response.content.decode()
    assert not Membership.objects.filter(user=mallory).exists()


def test_an_invite_link_admits_as_many_people_as_it_allows(client, team, carol, newhire, mallory, django_user_model):
    invitation = services.invitation_create(team=team, created_by=carol, max_uses=2)
    erin = django_user_model.objects.create_user(username="erin@example.com", email="erin@example.com", password="pw")
    for person in (newhire, mallory):
        client.force_login(person)
        assert client.post(reverse("team_join", args=[invitation.token])).status_code == 302
    client.force_login(erin)
    assert client.get(reverse("team_join", args=[invitation.token])).status_code == 404
    assert client.post(reverse("team_join", args=[invitation.token])).status_code == 404
    assert Membership.objects.filter(team=team).count() == 5


def test_joining_twice_spends_no_second_use(team, carol, newhire):
    invitation = services.invitation_create(team=team, created_by=carol, max_uses=3)
    services.invitation_accept(token=invitation.token, user=newhire)
    services.invitation_accept(token=invitation.token, user=newhire)
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_an_expired_or_revoked_invitation_is_a_404(client, team, carol, newhire):
    expired = services.invitation_create(team=team, created_by=carol, max_uses=3)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    revoked = services.invitation_create(team=team, created_by=carol, max_uses=3)
    client.force_login(carol)
    assert client.post(reverse("invitation_revoke", args=[team.id, revoked.id])).status_code == 302
    client.force_login(newhire)
    for invitation in (expired, revoked):
        assert client.get(reverse("team_join", args=[invitation.token])).status_code == 404
        assert client.post(reverse("team_join", args=[invitation.token])).status_code == 404
    assert client.get(reverse("team_join", args=["no-such-token"])).status_code == 404


def test_someone_logged_out_is_offered_sign_up_that_comes_back_to_the_invitation(client, team, carol):
    invitation = services.invitation_create(team=team, created_by=carol, max_uses=3)
    page = client.get(reverse("team_join", args=[invitation.token])).content.decode()
    assert f"/accounts/signup/?next=/team/join/{invitation.token}/" in page
    assert client.post(reverse("team_join", args=[invitation.token])).status_code == 200
    assert Invitation.objects.get().uses == 0


def test_a_manager_invites_learners_but_only_an_admin_hands_out_manager_roles(client, team, carol, alice):
    client.force_login(carol)
    response = client.post(
        reverse("team_people", args=[team.id]), {"email": "", "role": "manager", "max_uses": 3, "expires_in_days": 7}
    )
    assert response.status_code == 200
    assert not Invitation.objects.exists()
    Membership.objects.filter(user=carol).update(role=Role.ADMIN)
    response = client.post(
        reverse("team_people", args=[team.id]), {"email": "", "role": "manager", "max_uses": 3, "expires_in_days": 7}
    )
    assert response.status_code == 302
    assert Invitation.objects.get().role == Role.MANAGER


def test_the_people_page_lists_members_and_open_invite_links(client, team, carol):
    invitation = services.invitation_create(team=team, created_by=carol, max_uses=4)
    client.force_login(carol)
    page = client.get(reverse("team_people", args=[team.id])).content.decode()
    assert "alice@example.com" in page and "bob@example.com" in page
    assert invitation.token in page

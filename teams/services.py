import datetime as dt
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext

from accounts.models import Profile
from outbox.services import send_on_commit
from quizzes.services import cards_create_for_course

from . import tasks
from .models import Assignment, DigestSent, Invitation, Membership, Organization, Role, Team
from .selectors import team_dashboard

User = get_user_model()


@transaction.atomic
def demo_learner_ensure(*, email: str, password: str) -> tuple[User, bool]:
    """Create the demo learner once; later runs only make sure the password still works."""
    user, created = User.objects.get_or_create(username=email, defaults={"email": email, "first_name": "Demo"})
    user.set_password(password)
    user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    Profile.objects.get_or_create(user=user, defaults={"display_name": "Demo learner"})
    return user, created


def organization_create(*, name: str, team_name: str, admin) -> Organization:
    """Start an organization with its first team, its creator as the admin who can invite everyone else."""
    with transaction.atomic():
        base = slugify(name)[:40] or "org"
        slug, n = base, 1
        while Organization.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        organization = Organization.objects.create(name=name, slug=slug)
        team = Team.objects.create(organization=organization, name=team_name)
        Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    return organization


def invitation_create(
    *,
    team: Team,
    created_by,
    email: str = "",
    role: str = Role.LEARNER,
    max_uses: int = 1,
    expires_in_days: int = 14,
    join_url_for=None,
) -> Invitation:
    """An email invitation is single-use and mailed on commit; a link (no email) may be used max_uses times.

    join_url_for(invitation) turns the invitation into the absolute URL the email carries (the view knows the host).
    """
    invitation = Invitation.objects.create(
        team=team,
        email=email.strip().lower(),
        role=role,
        token=secrets.token_urlsafe(24),
        max_uses=1 if email else max(1, max_uses),
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
        created_by=created_by,
    )
    if invitation.email:
        join_url = (
            join_url_for(invitation) if join_url_for else settings.SITE_URL.rstrip("/") + invitation.get_absolute_url()
        )
        send_on_commit(tasks.invitation_email_send, invitation.id, join_url)
    return invitation


def invitation_email_deliver(*, invitation_id: int, join_url: str) -> bool:
    invitation = (
        Invitation.objects.select_related("team__organization", "created_by__profile")
        .filter(pk=invitation_id, revoked_at__isnull=True)
        .first()
    )
    if invitation is None or not invitation.email:
        return False
    inviter = invitation.created_by.profile.name if invitation.created_by else invitation.team.organization.name
    language = getattr(getattr(invitation.created_by, "profile", None), "language", settings.LANGUAGE_CODE)
    with translation.override(language):
        context = {"invitation": invitation, "inviter": inviter, "join_url": join_url}
        subject = gettext("%(inviter)s invites you to %(team)s on Primer") % {
            "inviter": inviter,
            "team": invitation.team.name,
        }
        body = render_to_string("teams/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])
    return True


class InvitationError(Exception):
    pass


def invitation_accept(*, token: str, user) -> Membership:
    """Put the user in the invitation's team. Raises Invitation.DoesNotExist when the token is not usable.

    The use is counted by a conditional UPDATE, so two people racing for the last use of a link cannot both win.
    Someone already in the team keeps their membership and spends no use.
    """
    with transaction.atomic():
        invitation = Invitation.objects.select_related("team").get(
            token=token, revoked_at__isnull=True, expires_at__gt=timezone.now(), uses__lt=F("max_uses")
        )
        if invitation.email and invitation.email != (user.email or "").lower():
            raise InvitationError(gettext("This invitation was sent to another email address."))
        existing = Membership.objects.filter(team=invitation.team, user=user).first()
        if existing is not None:
            return existing
        claimed = Invitation.objects.filter(
            pk=invitation.pk, revoked_at__isnull=True, expires_at__gt=timezone.now(), uses__lt=F("max_uses")
        ).update(uses=F("uses") + 1)
        if claimed != 1:
            raise Invitation.DoesNotExist
        membership = Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
        if membership.role == Role.LEARNER:
            send_on_commit(tasks.membership_cards_create, membership.id)
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


def assignment_create(*, team: Team, course, due_on: dt.date, created_by, learner=None) -> Assignment:
    """Assign a course to the whole team or one of its learners; their cards are created by a task on commit."""
    if learner is not None and not Membership.objects.filter(team=team, user=learner).exists():
        raise ValueError("an assignment to a person must name a member of the team")
    assignment = Assignment.objects.create(
        team=team, course=course, due_on=due_on, learner=learner, created_by=created_by
    )
    send_on_commit(tasks.assignment_cards_create, assignment.id)
    return assignment


def _cards_create(*, users, course) -> int:
    for user in users:
        cards_create_for_course(user=user, course=course)
    return len(users)


def assignment_cards_ensure(*, assignment_id: int) -> int:
    """Create the cards of an assignment's course for its learners; re-running it creates nothing twice."""
    assignment = Assignment.objects.select_related("course", "learner").filter(pk=assignment_id).first()
    if assignment is None:
        return 0
    if assignment.learner is not None:
        users = [assignment.learner]
    else:
        users = [m.user for m in assignment.team.memberships.filter(role=Role.LEARNER).select_related("user")]
    return _cards_create(users=users, course=assignment.course)


def membership_cards_ensure(*, membership_id: int) -> int:
    """A learner who joins a team late gets the cards of the courses already assigned to the whole team."""
    membership = Membership.objects.select_related("user", "team").filter(pk=membership_id).first()
    if membership is None:
        return 0
    created = 0
    for assignment in membership.team.assignments.filter(learner__isnull=True).select_related("course"):
        created += _cards_create(users=[membership.user], course=assignment.course)
    return created


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def digest_send(*, team_id: int, week: dt.date, now: dt.datetime | None = None) -> int:
    """Mail this week's digest of one team to each of its managers who has not had it yet; returns how many went.

    The DigestSent row is written in the same transaction as the mail is handed over, so a crash or a second
    beat run sends nothing twice, and a failed send leaves no row and is retried.
    """
    team = Team.objects.select_related("organization").filter(pk=team_id).first()
    if team is None:
        return 0
    managers = list(
        Membership.objects.filter(team=team, role__in=(Role.MANAGER, Role.ADMIN)).select_related("user__profile")
    )
    pending = [m for m in managers if not DigestSent.objects.filter(team=team, manager=m.user, week=week).exists()]
    if not pending:
        return 0
    dashboard = team_dashboard(team=team, now=now)
    sent = 0
    for membership in pending:
        manager = membership.user
        with transaction.atomic():
            _, created = DigestSent.objects.get_or_create(team=team, manager=manager, week=week)
            if not created:
                continue
            with translation.override(manager.profile.language):
                context = {
                    "team": team,
                    "dashboard": dashboard,
                    "manager": manager,
                    "week": week,
                    "dashboard_url": settings.SITE_URL.rstrip("/") + reverse("team_dashboard", args=[team.id]),
                }
                subject = gettext("Primer weekly digest: %(team)s") % {"team": team.name}
                body = render_to_string("teams/email/digest.txt", context)
            send_mail(subject, body, None, [manager.email])
        sent += 1
    return sent

import datetime as dt
import smtplib

from celery import shared_task
from django.utils import timezone

from . import services
from .models import Team


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=4,
)
def invitation_email_send(self, invitation_id: int, join_url: str) -> bool:
    return services.invitation_email_deliver(invitation_id=invitation_id, join_url=join_url)


@shared_task(acks_late=True)
def assignment_cards_create(assignment_id: int) -> int:
    return services.assignment_cards_ensure(assignment_id=assignment_id)


@shared_task(acks_late=True)
def membership_cards_create(membership_id: int) -> int:
    return services.membership_cards_ensure(membership_id=membership_id)


@shared_task(acks_late=True)
def digest_send_weekly() -> int:
    """Beat, Mondays: one task per team, each sending only the digests this week still lacks."""
    week = services.week_start(timezone.localdate()).isoformat()
    team_ids = list(
        Team.objects.filter(memberships__role__in=("manager", "admin")).values_list("id", flat=True).distinct()
    )
    for team_id in team_ids:
        digest_send_for_team.delay(team_id, week)
    return len(team_ids)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=4,
)
def digest_send_for_team(self, team_id: int, week: str) -> int:
    return services.digest_send(team_id=team_id, week=dt.date.fromisoformat(week))

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LEARNER = "learner", _("learner")
    MANAGER = "manager", _("manager")
    ADMIN = "admin", _("admin")


class Organization(models.Model):
    """A company or group that runs Primer for its people; nothing crosses from one to another."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """An onboarding cohort: the unit a manager assigns courses to and watches."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name_per_org")]

    def __str__(self) -> str:
        return f"{self.organization} · {self.name}"


class Membership(models.Model):
    """A person's role in a team. An admin in any team of an organization administers all of it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.LEARNER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "joined_at"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_once_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class Invitation(models.Model):
    """An invitation into a team: for one email address (single use) or a link for several people."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"), blank=True, help_text=_("Empty for an invite link anyone can use."))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.LEARNER)
    token = models.CharField(max_length=64, unique=True, editable=False)
    max_uses = models.PositiveIntegerField(_("maximum uses"), default=1)
    uses = models.PositiveIntegerField(_("uses"), default=0)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uses__lte=models.F("max_uses")), name="invitation_uses_within_limit"
            )
        ]

    def __str__(self) -> str:
        return self.email or f"link {self.token[:8]}…"

    def get_absolute_url(self) -> str:
        return reverse("team_join", args=[self.token])


class Assignment(models.Model):
    """A course a manager expects a team (or one person in it) to finish by a date."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="assignments")
    course = models.ForeignKey("content.Course", on_delete=models.CASCADE, related_name="assignments")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assignments",
        help_text=_("Empty to assign the course to the whole team."),
    )
    due_on = models.DateField(_("due date"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self) -> str:
        return f"{self.course} → {self.learner or self.team} by {self.due_on}"


class DigestSent(models.Model):
    """The weekly digest already mailed to a manager for a team: a re-run of the beat task sends nothing twice."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text=_("The Monday of the ISO week the digest covers."))
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "manager", "week"], name="digest_once_per_week")]

    def __str__(self) -> str:
        return f"digest for team {self.team_id}, week of {self.week}"

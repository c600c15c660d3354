"""What every part of Primer may know about a person beyond Django's user: name, language, clock."""

import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def timezone_choices() -> list[tuple[str, str]]:
    """Every time zone a learner may choose. "localtime" is the host's own clock, which PostgreSQL does not know by
    that name: the queue and the dashboard work out days in SQL, so a learner who chose it would break both. A
    callable, so a machine with a newer time-zone database needs no migration."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones() - {"localtime"})]


class Profile(models.Model):
    """What a person chooses about themselves: how they are named, the language and the clock they live by."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    timezone = models.CharField(_("time zone"), max_length=64, choices=timezone_choices, default="UTC")

    class Meta:
        # The table teams created before profiles moved here: existing databases keep their rows.
        db_table = "teams_profile"

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.email.split("@")[0] or self.user.get_username()

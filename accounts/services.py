"""Writes for a person's profile."""

from .models import Profile


def profile_for(*, user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_update(*, user, display_name: str, language: str, timezone: str) -> Profile:
    profile = profile_for(user=user)
    profile.display_name = display_name
    profile.language = language
    profile.timezone = timezone
    profile.save(update_fields=["display_name", "language", "timezone"])
    return profile


def profile_set_language(*, user, language: str) -> None:
    Profile.objects.update_or_create(user=user, defaults={"language": language})

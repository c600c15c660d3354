from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Profile

User = get_user_model()


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


@transaction.atomic
def demo_learner_ensure(*, email: str, password: str) -> tuple[User, bool]:
    """Create the demo learner once; later runs only make sure the password still works."""
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "first_name": "Demo"}
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    Profile.objects.get_or_create(user=user, defaults={"display_name": "Demo learner"})
    return user, created

import zoneinfo

from django.utils import timezone, translation

from .models import Profile


class ProfilePreferencesMiddleware:
    """A signed-in learner's profile language and time zone win over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                profile = user.profile
            except Profile.DoesNotExist:
                profile = None
            if profile is not None:
                translation.activate(profile.language)
                request.LANGUAGE_CODE = profile.language
                try:
                    timezone.activate(zoneinfo.ZoneInfo(profile.timezone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        response = self.get_response(request)
        timezone.deactivate()
        return response

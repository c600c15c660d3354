from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import translation

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def profile_create_for_new_user(sender, instance, created, **kwargs):
    # A new learner starts in the language they signed up in.
    if created:
        language = translation.get_language() or settings.LANGUAGE_CODE
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        Profile.objects.get_or_create(user=instance, defaults={"language": language})

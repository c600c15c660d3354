from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuizzesConfig(AppConfig):
    name = "quizzes"
    verbose_name = _("Questions and reviews")

    def ready(self):
        from . import signals  # noqa: F401 -- connects the receivers; models must be loaded first, so not at the top

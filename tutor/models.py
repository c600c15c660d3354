from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    """A learner's thread with the tutor; follow-up questions are read in its context."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(_("title"), max_length=200)
    course = models.ForeignKey("content.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lesson = models.ForeignKey(
        "content.Lesson",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The lesson the tutor was opened from, if any."),
    )
    socratic = models.BooleanField(_("Socratic mode"), default=False)
    # A missed quiz question the tutor was opened from: {"id", "prompt", "answer", "expected"}.
    missed = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("tutor_conversation", args=[self.id])


UNCITED_REASON = "the model's answer cited no course passage"


class Answer(models.Model):
    """One question and the tutor's answer to it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        STREAMING = "streaming", _("answering")
        DONE = "done", _("done")

    class Mode(models.TextChoices):
        OFFLINE = "offline", _("offline answer from the course text")
        LLM = "llm", _("language model")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="answers")
    question = models.TextField(_("question"))
    query = models.TextField(blank=True, help_text=_("The standalone query retrieval used."))
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    mode = models.CharField(max_length=10, choices=Mode.choices, blank=True)
    reveal = models.BooleanField(default=False, help_text=_("In Socratic mode: the learner asked for the full answer."))
    text = models.TextField(blank=True, help_text=_("Markdown with [n] citations."))
    citations = models.JSONField(default=list, blank=True)
    not_in_course = models.BooleanField(default=False)
    closest_lessons = models.JSONField(default=list, blank=True)
    # Why the language model's answer was replaced by the offline one (timeout, error, garbage), if it was.
    fallback_reason = models.CharField(max_length=200, blank=True)
    tokens = models.PositiveIntegerField(default=0, help_text=_("Prompt and answer tokens, for the daily budget."))
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return self.question[:80]

    @property
    def fallback_uncited(self) -> bool:
        """The model answered, but cited no passage: its answer was set aside for the course's own words."""
        return self.fallback_reason.startswith(UNCITED_REASON)


class Feedback(models.Model):
    answer = models.OneToOneField(Answer, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{'+' if self.helpful else '-'} {self.answer}"

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from content.models import Concept, Language, Section


class Question(models.Model):
    class Type(models.TextChoices):
        MCQ = "mcq", _("Multiple choice")
        CLOZE = "cloze", _("Fill in the blank")
        FREE_TEXT = "free_text", _("Short answer")

    class Origin(models.TextChoices):
        HANDWRITTEN = "handwritten", _("Hand-written")
        LLM = "llm", _("Language model")
        RULE = "rule", _("Rule-built")
        TUTOR = "tutor", _("From a tutor answer")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RETIRED = "retired", _("Retired")

    # A stable identity for questions that are re-created from files or generators, so reloading is a no-op.
    key = models.CharField(max_length=300, unique=True, null=True, blank=True)
    type = models.CharField(max_length=10, choices=Type.choices)
    prompt = models.TextField(_("prompt"))
    options = models.JSONField(default=list, blank=True)
    # The right option's text for multiple choice; the reference answer otherwise.
    answer = models.TextField(_("answer"))
    accept = models.JSONField(default=list, blank=True, help_text=_("Other answers to accept."))
    explanation = models.TextField(_("explanation"), blank=True)
    evidence = models.TextField(
        _("evidence"), blank=True, help_text=_("The span of the section that supports the answer.")
    )
    # SET_NULL: re-ingesting a lesson may replace its sections, and that must not delete learners' cards.
    section = models.ForeignKey(Section, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions")
    concepts = models.ManyToManyField(Concept, related_name="questions", blank=True)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.ENGLISH)
    difficulty = models.PositiveSmallIntegerField(default=2)
    origin = models.CharField(max_length=12, choices=Origin.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    rejection_reason = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="own_questions",
        help_text=_("Set for a learner's own question, made from a tutor answer."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.prompt[:80]


class Card(models.Model):
    """One learner's memory of one question, scheduled by FSRS."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cards")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="cards")
    # The fsrs package's Card.to_dict(): state, step, stability, difficulty, due, last_review.
    fsrs = models.JSONField(default=dict)
    # Copies of fsrs["stability"] and fsrs["last_review"] (memory_state_sync), so that the team dashboard's mean
    # retrievability over thousands of cards reads columns instead of parsing each card's JSON.
    stability = models.FloatField(null=True, blank=True)
    last_review = models.DateTimeField(null=True, blank=True)
    due = models.DateTimeField(db_index=True)
    reps = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)
    is_leech = models.BooleanField(default=False)
    # A suspended card never comes up for review until the learner unsuspends it.
    suspended = models.BooleanField(default=False)
    # The learner's own words beside a shared question (shared questions are not theirs to edit).
    note = models.TextField(_("note"), blank=True)
    # When the learner last reset the card to new: answers before it stay logged but no longer shape its memory.
    reset_at = models.DateTimeField(null=True, blank=True)
    first_reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "question"], name="card_unique_user_question")]
        indexes = [models.Index(fields=["user", "due"], name="card_user_due")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.question_id}"

    @property
    def is_new(self) -> bool:
        return self.reps == 0

    def memory_state_sync(self) -> None:
        self.stability = self.fsrs.get("stability")
        last_review = self.fsrs.get("last_review")
        self.last_review = datetime.fromisoformat(last_review) if last_review else None


class ReviewLog(models.Model):
    """One answer to one card. Rows are only ever added; undo marks the row instead of deleting it."""

    class Rating(models.IntegerChoices):
        AGAIN = 1, _("Again")
        HARD = 2, _("Hard")
        GOOD = 3, _("Good")
        EASY = 4, _("Easy")

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_logs")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    reviewed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    answer = models.TextField(blank=True)
    correct = models.BooleanField()
    # FSRS state of the card before the review (0 = new), for true retention and the optimiser.
    state_before = models.PositiveSmallIntegerField(default=0)
    # Everything needed to put the card back as it was: fsrs, due, reps, lapses, is_leech, first_reviewed_at.
    card_before = models.JSONField()
    card_after = models.JSONField()
    idempotency_key = models.CharField(max_length=64, unique=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "reviewed_at"], name="reviewlog_user_time"),
            # The team dashboard's reads of answers that stand (streak, reviews this week, true retention) come
            # from this index alone: the log is append-only, so its pages stay all-visible and the scan skips the
            # table.
            models.Index(
                fields=["user", "reviewed_at"],
                include=["card", "state_before", "rating"],
                condition=models.Q(undone_at__isnull=True),
                name="reviewlog_user_time_standing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} {self.rating} {self.reviewed_at:%Y-%m-%d}"


class ReviewSettings(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_settings")
    desired_retention = models.FloatField(_("desired retention"), default=0.9)
    new_per_day = models.PositiveSmallIntegerField(_("new cards per day"), default=10)
    max_reviews_per_day = models.PositiveIntegerField(
        _("maximum reviews per day"), default=200, help_text=_("New cards count toward this limit too.")
    )
    rollover_hour = models.PositiveSmallIntegerField(
        _("next day starts at"), default=4, help_text=_("The hour (0–23, your time zone) at which your day starts.")
    )
    mix_new_with_reviews = models.BooleanField(
        _("mix new cards with reviews"), default=False, help_text=_("Otherwise new cards come after the reviews.")
    )
    # "Study more today": extra cards on top of the limits, for the learner-day named by extended_on only.
    extended_on = models.DateField(null=True, blank=True)
    extra_reviews = models.PositiveIntegerField(default=0)
    extra_new = models.PositiveIntegerField(default=0)
    reminder_hour = models.PositiveSmallIntegerField(
        _("reminder hour"), default=8, help_text=_("In your time zone, 0–23.")
    )
    reminders_enabled = models.BooleanField(_("daily reminder email"), default=True)
    suspend_leeches = models.BooleanField(
        _("suspend leeches"),
        default=True,
        help_text=_("Set aside a card you have forgotten 8 times, so you can rework it instead of failing it again."),
    )
    # Empty means the fsrs package's defaults; filled by the nightly optimiser.
    fsrs_parameters = models.JSONField(default=list, blank=True)
    parameters_optimised_at = models.DateTimeField(null=True, blank=True)
    last_reminder_date = models.DateField(null=True, blank=True)
    # The claim of the day's email itself (reminder_send): a redelivered batch finds it taken and mails nobody twice.
    last_reminder_sent_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["reminder_hour"], name="reviewsettings_hour")]

    def __str__(self) -> str:
        return f"review settings of {self.user_id}"


class GenerationRun(models.Model):
    """Which course has question generation running: a second run for it waits for the first, never collides."""

    course = models.OneToOneField(
        "content.Course", on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("course")
    )
    running_since = models.DateTimeField(_("running since"), null=True, blank=True)
    rerun_wanted = models.BooleanField(
        _("rerun wanted"), default=False, help_text=_("New lessons arrived while it ran: run once more.")
    )
    finished_at = models.DateTimeField(
        _("finished at"), null=True, blank=True, help_text=_("When the last run finished.")
    )
    without_model = models.JSONField(
        _("sections without the model"),
        default=list,
        blank=True,
        help_text=_(
            "The sections of the last run the model wrote no questions for (or not for all of them), each "
            "with the reason; they have rule-built questions instead."
        ),
    )

    class Meta:
        verbose_name = _("question generation run")
        verbose_name_plural = _("question generation runs")

    def __str__(self) -> str:
        return f"question generation for course {self.course_id}"


class OptimisationRun(models.Model):
    """One nightly fit of a learner's FSRS parameters: how the current and the fitted ones score on the learner's
    history, and whether the fitted ones were adopted (only when they predict that history better)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="optimisation_runs")
    ran_at = models.DateTimeField()
    reviews = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    current_log_loss = models.FloatField(null=True, blank=True)
    current_rmse = models.FloatField(null=True, blank=True)
    new_log_loss = models.FloatField(null=True, blank=True)
    new_rmse = models.FloatField(null=True, blank=True)
    parameters = models.JSONField(default=list, blank=True)
    adopted = models.BooleanField(default=False)
    # Why the fitted parameters were not adopted, or why no fit was tried; empty when adopted.
    reason = models.CharField(max_length=200, blank=True)
    cards_recomputed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at", "-id"]
        indexes = [models.Index(fields=["user", "ran_at"], name="optimisationrun_user_time")]

    def __str__(self) -> str:
        return f"optimisation of {self.user_id} at {self.ran_at:%Y-%m-%d}: {'adopted' if self.adopted else self.reason}"

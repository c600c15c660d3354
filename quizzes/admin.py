from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Card, GenerationRun, OptimisationRun, Question, ReviewLog, ReviewSettings


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    """Staff review generated drafts here: filter by status "draft", read the evidence, approve or reject."""

    list_display = ["prompt_short", "type", "origin", "status", "language", "rejection_reason", "section"]
    list_filter = ["status", "origin", "type", "language"]
    search_fields = ["prompt", "answer", "rejection_reason"]
    raw_id_fields = ["section", "owner"]
    filter_horizontal = ["concepts"]
    actions = ["approve", "reject"]
    readonly_fields = ["key", "created_at"]

    @admin.display(description=_("prompt"))
    def prompt_short(self, question):
        return question.prompt[:90]

    @admin.action(description=_("Approve the selected questions"))
    def approve(self, request, queryset):
        for question in queryset:
            services.question_approve(question=question)

    @admin.action(description=_("Reject the selected questions"))
    def reject(self, request, queryset):
        for question in queryset:
            services.question_reject(question=question, reason=question.rejection_reason or "rejected by a reviewer")


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ["user", "question", "due", "reps", "lapses", "is_leech"]
    list_filter = ["is_leech"]
    raw_id_fields = ["user", "question"]


@admin.register(ReviewLog)
class ReviewLogAdmin(admin.ModelAdmin):
    list_display = ["card", "user", "rating", "correct", "reviewed_at", "duration_ms", "undone_at"]
    raw_id_fields = ["card", "user"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReviewSettings)
class ReviewSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "desired_retention",
        "new_per_day",
        "max_reviews_per_day",
        "reminders_enabled",
        "parameters_optimised_at",
    ]
    list_filter = ["reminders_enabled"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(OptimisationRun)
class OptimisationRunAdmin(admin.ModelAdmin):
    list_display = ["user", "ran_at", "reviews", "current_log_loss", "new_log_loss", "adopted", "reason"]
    list_filter = ["adopted"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GenerationRun)
class GenerationRunAdmin(admin.ModelAdmin):
    """Staff see why a section got rule-built questions instead of the model's (its context, a timeout, a reply
    that was not the asked format)."""

    list_display = ["course", "running_since", "finished_at", "sections_without_model"]
    list_select_related = ["course"]
    fields = ["course", "running_since", "rerun_wanted", "finished_at", "reasons"]
    readonly_fields = fields

    @admin.display(description=_("sections without the model"))
    def sections_without_model(self, run: GenerationRun) -> int:
        return len(run.without_model)

    @admin.display(description=_("why the model wrote no questions"))
    def reasons(self, run: GenerationRun):
        return format_html_join(
            mark_safe("<br>"), "{}: {}", ((entry.get("heading", ""), entry["reason"]) for entry in run.without_model)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Answer, Conversation, Feedback


class RatingFilter(admin.SimpleListFilter):
    title = _("rating")
    parameter_name = "rating"

    def lookups(self, request, model_admin):
        return [("low", _("Thumbs down")), ("high", _("Thumbs up")), ("none", _("Not rated"))]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(feedback__helpful=False)
        if self.value() == "high":
            return queryset.filter(feedback__helpful=True)
        if self.value() == "none":
            return queryset.filter(feedback__isnull=True)
        return queryset


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    """Reviewing the tutor: filter by "Thumbs down" to see the low-rated answers with the learners' comments."""

    list_display = ["question", "mode", "rating", "comment", "fallback_reason", "created_at"]
    list_filter = [RatingFilter, "mode", "not_in_course", "language"]
    search_fields = ["question", "text", "feedback__comment"]
    list_select_related = ["feedback"]
    readonly_fields = ["conversation", "created_at", "answered_at"]

    @admin.display(description=_("rating"))
    def rating(self, obj):
        feedback = getattr(obj, "feedback", None)
        return "" if feedback is None else ("👍" if feedback.helpful else "👎")

    @admin.display(description=_("comment"))
    def comment(self, obj):
        feedback = getattr(obj, "feedback", None)
        return feedback.comment if feedback else ""


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["answer", "helpful", "comment", "created_at"]
    list_filter = ["helpful"]
    search_fields = ["comment", "answer__question"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "socratic", "updated_at"]
    search_fields = ["title", "user__email"]

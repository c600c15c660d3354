from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Chunk, Concept, Course, Lesson, Source


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "created_at"]
    # Also what the assignment forms' course autocomplete searches.
    search_fields = ["title", "title_zh", "slug"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "language", "ingested_at"]
    list_filter = ["course", "language"]
    search_fields = ["name", "title"]


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "language", "order"]
    list_filter = ["course", "language"]
    search_fields = ["title", "slug"]


@admin.register(Concept)
class ConceptAdmin(admin.ModelAdmin):
    list_display = ["term", "term_zh", "course"]
    list_filter = ["course"]
    search_fields = ["term", "term_zh", "slug"]
    filter_horizontal = ["sections"]


class FlaggedFilter(admin.SimpleListFilter):
    title = _("instruction-like text")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", _("Flagged"))]

    def queryset(self, request, queryset):
        return queryset.exclude(flagged=[]) if self.value() == "yes" else queryset


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    """Passages, with the instruction-like sentences ingestion found in them (never quoted by the tutor)."""

    list_display = ["__str__", "lesson", "flagged_count"]
    list_filter = [FlaggedFilter, "section__lesson__course"]
    search_fields = ["text"]
    fields = ["section", "position", "text", "flagged"]
    readonly_fields = fields
    list_select_related = ["section__lesson"]

    @admin.display(description=_("lesson"))
    def lesson(self, chunk):
        return chunk.section.lesson.title

    @admin.display(description=_("flagged sentences"))
    def flagged_count(self, chunk):
        return len(chunk.flagged)

    def has_add_permission(self, request):
        return False

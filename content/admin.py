from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Chunk


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

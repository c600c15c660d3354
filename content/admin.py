from django.contrib import admin

from .models import Concept, Course, Lesson, Source


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

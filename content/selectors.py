"""Reads for the content pages: courses with progress, lessons in the learner's language, the glossary."""

import re
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count, Prefetch, QuerySet

from .models import Concept, Course, Lesson, LessonRead, Section
from .rendering import DIAGRAM_NAME
from .services import SHIPPED_COURSES


def language_of(request) -> str:
    language = getattr(request, "LANGUAGE_CODE", "en") or "en"
    return "zh-hans" if language.startswith("zh") else "en"


def _preference(language: str) -> list[str]:
    return ["zh-hans", "zh-hant", "en"] if language.startswith("zh") else ["en", "zh-hans", "zh-hant"]


def lessons_in_language(course: Course, language: str) -> list[Lesson]:
    """One lesson per slug, in course order: the learner's language when it exists, else another."""
    rank = {code: i for i, code in enumerate(_preference(language))}
    chosen: dict[str, Lesson] = {}
    for lesson in Lesson.objects.filter(course=course).select_related("source").order_by("order", "slug"):
        current = chosen.get(lesson.slug)
        if current is None or rank.get(lesson.language, 9) < rank.get(current.language, 9):
            chosen[lesson.slug] = lesson
    return sorted(chosen.values(), key=lambda lesson: (lesson.order, lesson.slug))


@dataclass
class CourseProgress:
    course: Course
    lessons: int
    read: int

    @property
    def percent(self) -> int:
        return round(100 * self.read / self.lessons) if self.lessons else 0


def courses_with_progress(user) -> list[CourseProgress]:
    courses = Course.objects.annotate(lesson_count=Count("lessons__slug", distinct=True)).order_by("title")
    read = dict(
        LessonRead.objects.filter(user=user).values("course").annotate(n=Count("id")).values_list("course", "n")
    )
    return [CourseProgress(course=c, lessons=c.lesson_count, read=read.get(c.id, 0)) for c in courses]


def read_slugs(user, course: Course) -> set[str]:
    return set(LessonRead.objects.filter(user=user, course=course).values_list("lesson_slug", flat=True))


def lesson_for(course: Course, slug: str, language: str) -> Lesson | None:
    """The lesson in the asked language, else the same lesson in another language."""
    lessons = {
        lesson.language: lesson
        for lesson in Lesson.objects.filter(course=course, slug=slug).select_related("source", "course")
    }
    for code in [language] + _preference(language):
        if code in lessons:
            return lessons[code]
    return None


def lesson_sections(lesson: Lesson) -> QuerySet[Section]:
    return lesson.sections.order_by("position")


def lesson_languages(course: Course, slug: str) -> list[str]:
    return list(Lesson.objects.filter(course=course, slug=slug).order_by("language").values_list("language", flat=True))


def lesson_concepts(lesson: Lesson) -> list[Concept]:
    return list(Concept.objects.filter(sections__lesson=lesson).distinct())


def glossary(course: Course | None = None) -> QuerySet[Concept]:
    concepts = Concept.objects.select_related("course").prefetch_related(
        Prefetch("sections", queryset=Section.objects.select_related("lesson__course"))
    )
    return concepts.filter(course=course) if course else concepts


def diagram_file(course_slug: str, name: str) -> Path | None:
    """A diagram shipped in the course's folder, by its strict file name; nothing outside that folder."""
    if not DIAGRAM_NAME.match(name) or not re.fullmatch(r"[a-z0-9-]+", course_slug):
        return None
    folder = (SHIPPED_COURSES / course_slug / "diagrams").resolve()
    path = (folder / name).resolve()
    return path if path.parent == folder and path.is_file() else None

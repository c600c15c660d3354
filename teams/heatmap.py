"""How the dashboard's numbers are shown: the heatmap's colour scale and the CSV export."""

from dataclasses import dataclass

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from content.models import Concept
from quizzes.exports import csv_writer

from .selectors import NOT_STARTED as NOT_STARTED_VALUE
from .selectors import LessonColumn, concept_cell

# Colour steps for mean retrievability. The scale is finer near the top because FSRS aims at 90%
# retention: a concept at 75% is already slipping, while the difference between 10% and 30% matters less.
STEPS = [
    (0.9, "#1f8a4c", "#ffffff", gettext_lazy("90% or more")),
    (0.8, "#7cc36a", "#1d2430", gettext_lazy("80–90%")),
    (0.7, "#f2d16b", "#1d2430", gettext_lazy("70–80%")),
    (0.5, "#f0a05a", "#1d2430", gettext_lazy("50–70%")),
    (0.0, "#d64545", "#ffffff", gettext_lazy("under 50%")),
]
NOT_STARTED = ("#ffffff", "#5b6575", gettext_lazy("not started"))
EMPTY = ("#eef1f5", "#5b6575", gettext_lazy("no cards yet"))
LEGEND = [(background, ink, label) for _, background, ink, label in STEPS] + [NOT_STARTED, EMPTY]
NOT_STARTED_LEVEL, EMPTY_LEVEL = len(STEPS), len(STEPS) + 1


def level(value) -> int:
    """The colour step of a cell: 0 (strongest) to 4 for a mean retrievability, then not started, then no cards."""
    if value is None:
        return EMPTY_LEVEL
    if value == NOT_STARTED_VALUE:
        return NOT_STARTED_LEVEL
    for index, (floor, *_rest) in enumerate(STEPS):
        if value >= floor:
            return index
    return len(STEPS) - 1


def stylesheet() -> str:
    return "".join(
        f".heatmap td.m{index},.legend .swatch.m{index}{{background:{background};color:{ink}}}"
        for index, (background, ink, _label) in enumerate(LEGEND)
    )


@dataclass
class Column:
    """A heatmap column: a whole lesson (its cell is the mean of the concepts started), or one concept of the
    lesson the manager expanded."""

    lesson: LessonColumn
    concept: Concept | None = None

    @property
    def is_lesson(self) -> bool:
        return self.concept is None


def columns(dashboard, *, expanded: str | None) -> list[Column]:
    result = []
    for lesson in dashboard.lessons:
        result.append(Column(lesson=lesson))
        if lesson.slug == expanded:
            result += [Column(lesson=lesson, concept=concept) for concept in lesson.concepts]
    return result


def cells_html(dashboard, row, columns: list[Column]) -> str:
    """One learner's row of cells, built here rather than in the template: the template loop over every cell took
    most of the page's time. Colours are classes, not inline styles, to keep the page small; the row and column
    headers label the cells, and a not-started cell shows a dash, never a red 0."""
    parts = []
    for column in columns:
        value = dashboard.lesson_cell(row, column.lesson) if column.is_lesson else concept_cell(row, column.concept.id)
        text = "–" if value == NOT_STARTED_VALUE else "" if value is None else round(value * 100)
        extra = "" if column.is_lesson else " sub"
        parts.append(f'<td class="cell m{level(value)}{extra}">{text}</td>')
    return mark_safe("".join(parts))


def colour(value) -> tuple[str, str]:
    """(background, text colour) for a cell value."""
    background, ink, _label = LEGEND[level(value)]
    return background, ink


STATUS_LABELS = {
    "none": gettext_lazy("no deadline"),
    "done": gettext_lazy("done"),
    "on_track": gettext_lazy("on track"),
    "at_risk": gettext_lazy("at risk"),
    "overdue": gettext_lazy("overdue"),
}


def write_csv(stream, dashboard, *, language: str) -> None:
    writer = csv_writer(stream)
    writer.writerow(
        [
            _("Learner"),
            _("Email"),
            _("Lessons read"),
            _("Lessons"),
            _("Cards learned"),
            _("Cards"),
            _("Reviews, last 7 days"),
            _("True retention"),
            _("Streak (days)"),
            _("Overdue"),
            _("Due date"),
            _("Status"),
            *[concept.term_in(language) for concept in dashboard.concepts],
        ]
    )
    for row in dashboard.rows:
        writer.writerow(
            [
                row.name,
                row.email,
                row.lessons_read,
                row.lessons_total,
                row.cards_learned,
                row.cards_total,
                row.reviews_7d,
                "" if row.retention is None else f"{row.retention:.3f}",
                row.streak,
                row.overdue,
                row.due_on.isoformat() if row.due_on else "",
                str(STATUS_LABELS[row.status]),
                *[cell_csv(value) for _concept, value in dashboard.cells(row)],
            ]
        )


def cell_csv(value) -> str:
    if value is None:
        return ""
    return str(_("not started")) if value == NOT_STARTED_VALUE else f"{value:.3f}"

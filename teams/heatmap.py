"""How the dashboard's numbers are shown: the heatmap's colour scale and the CSV export."""

from django.utils.safestring import mark_safe

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quizzes.exports import csv_writer

# Colour steps for mean retrievability. The scale is finer near the top because FSRS aims at 90%
# retention: a concept at 75% is already slipping, while the difference between 10% and 30% matters less.
STEPS = [
    (0.9, "#1f8a4c", "#ffffff", gettext_lazy("90% or more")),
    (0.8, "#7cc36a", "#1d2430", gettext_lazy("80–90%")),
    (0.7, "#f2d16b", "#1d2430", gettext_lazy("70–80%")),
    (0.5, "#f0a05a", "#1d2430", gettext_lazy("50–70%")),
    (0.0, "#d64545", "#ffffff", gettext_lazy("under 50%")),
]
EMPTY = ("#eef1f5", "#5b6575", gettext_lazy("no cards yet"))
LEGEND = [(background, ink, label) for _, background, ink, label in STEPS] + [EMPTY]


def level(value: float | None) -> int:
    """The colour step of a mean retrievability: 0 (strongest) to 4, or 5 for no cards."""
    if value is None:
        return len(STEPS)
    for index, (floor, *_rest) in enumerate(STEPS):
        if value >= floor:
            return index
    return len(STEPS) - 1


def stylesheet() -> str:
    return "".join(
        f".heatmap td.m{index},.legend .swatch.m{index}{{background:{background};color:{ink}}}"
        for index, (background, ink, _label) in enumerate(LEGEND)
    )


def cells_html(dashboard, row) -> str:
    """One learner's row of cells, built here rather than in the template: 200 learners × 60 concepts is
    12,000 cells, and the template loop alone took most of a second where this takes milliseconds.
    Colours are classes, not inline styles, to keep the page small; the row and column headers label the cells."""
    return mark_safe("".join(
        '<td class="cell m%d">%s</td>' % (level(value), "" if value is None else round(value * 100))
        for _concept, value in dashboard.cells(row)
    ))


def colour(value: float | None) -> tuple[str, str]:
    """(background, text colour) for a mean retrievability, or the empty cell's for None."""
    if value is None:
        return EMPTY[0], EMPTY[1]
    for floor, background, ink, _label in STEPS:
        if value >= floor:
            return background, ink
    return STEPS[-1][1], STEPS[-1][2]


STATUS_LABELS = {
    "none": gettext_lazy("no deadline"),
    "done": gettext_lazy("done"),
    "on_track": gettext_lazy("on track"),
    "at_risk": gettext_lazy("at risk"),
    "overdue": gettext_lazy("overdue"),
}


def write_csv(stream, dashboard, *, language: str) -> None:
    writer = csv_writer(stream)
    writer.writerow([
        _("Learner"), _("Email"), _("Lessons read"), _("Lessons"), _("Cards learned"), _("Cards"),
        _("Reviews, last 7 days"), _("True retention"), _("Streak (days)"), _("Overdue"), _("Due date"), _("Status"),
        *[concept.term_in(language) for concept in dashboard.concepts],
    ])
    for row in dashboard.rows:
        writer.writerow([
            row.name, row.email, row.lessons_read, row.lessons_total, row.cards_learned, row.cards_total,
            row.reviews_7d, "" if row.retention is None else f"{row.retention:.3f}", row.streak, row.overdue,
            row.due_on.isoformat() if row.due_on else "", str(STATUS_LABELS[row.status]),
            *["" if value is None else f"{value:.3f}" for _concept, value in dashboard.cells(row)],
        ])

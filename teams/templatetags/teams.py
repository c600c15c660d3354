from django import template
from django.utils.html import format_html

from teams import heatmap, selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def learner_assignments(context):
    """The signed-in learner's assignments, for pages outside the teams app (the Today page)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return selectors.assignments_for_learner(user=user) if user is not None else []


@register.simple_tag
def mastery_style(value):
    background, ink = heatmap.colour(value)
    return format_html("background:{};color:{}", background, ink)


@register.filter
def status_label(status: str) -> str:
    return heatmap.STATUS_LABELS.get(status, status)


@register.filter
def term_in(concept, language: str) -> str:
    return concept.term_in(language or "en")


@register.filter
def title_in(course, language: str) -> str:
    return course.title_in(language or "en")


@register.filter
def cells(dashboard, row):
    return dashboard.cells(row)


@register.simple_tag
def heatmap_cells(dashboard, row, columns):
    return heatmap.cells_html(dashboard, row, columns)


@register.simple_tag(takes_context=True)
def heatmap_stylesheet(context):
    # The nonce lets this one generated <style> through the Content Security Policy.
    return format_html('<style nonce="{}">{}</style>', context.get("csp_nonce") or "", heatmap.stylesheet())

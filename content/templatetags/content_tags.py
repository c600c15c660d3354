from django import template

from content.rendering import http_url as _http_url

register = template.Library()


@register.filter
def title_in(obj, language: str) -> str:
    return obj.title_in(language)


@register.filter
def description_in(obj, language: str) -> str:
    return obj.description_in(language)


@register.filter
def term_in(concept, language: str) -> str:
    return concept.term_in(language)


@register.filter
def definition_in(concept, language: str) -> str:
    return concept.definition_in(language)


@register.filter
def http_url(value) -> str:
    """Only http(s) URLs become links (see content.rendering.http_url)."""
    return _http_url(value)

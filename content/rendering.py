"""Lesson Markdown to safe HTML, with the glossary's terms marked so their definitions show on hover or tap."""

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import markdown
import nh3

_ALLOWED_TAGS = {
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "h3",
    "h4",
    "h5",
    "a",
    "br",
    "hr",
    "sub",
    "sup",
    "del",
    "img",
}
_SKIP_INSIDE = {"code", "pre", "a", "abbr", "h3", "h4", "h5"}
_TAG = re.compile(r"(<[^>]+>)")
# A lesson's diagram as its Markdown writes it: ![alt](diagrams/NAME.LANG.svg), a file shipped with the course.
DIAGRAM_NAME = re.compile(r"^[a-z0-9-]+\.(en|zh)\.svg$")
_DIAGRAM_SRC = re.compile(r"^diagrams/(?P<name>[^/]+)$")
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')
_LONE_IMG = re.compile(r"<p>\s*(<a class=\"diagram-link\"[^>]*><img\b[^>]*></a>)\s*</p>")


def http_url(value) -> str:
    """The URL when it is an absolute http(s) address, else "".

    A source's `url: javascript:…` must never become a link."""
    text = str(value or "").strip()
    # Browsers drop tabs and newlines inside a scheme ("java\tscript:"), so a URL containing them is refused.
    if any(ch in text for ch in "\t\r\n") or any(ord(ch) < 32 for ch in text):
        return ""
    parts = urlsplit(text)
    return text if parts.scheme.lower() in {"http", "https"} and parts.netloc else ""


def markdown_to_html(text: str, *, diagram_url: Callable[[str], str | None] | None = None) -> str:
    """Safe HTML. An image shows only when it is one of the course's diagrams (diagram_url gives its address,
    or None when there is no such file); any other image (external, data:, javascript:) becomes its alt text."""
    rendered = markdown.markdown(text, extensions=["tables", "sane_lists", "fenced_code"])
    cleaned = nh3.clean(
        rendered,
        tags=_ALLOWED_TAGS,
        link_rel="noopener nofollow",
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}},
    )
    cleaned = _IMG.sub(lambda m: _diagram_img(m.group(0), diagram_url), cleaned)
    return _LONE_IMG.sub(r'<figure class="diagram">\1</figure>', cleaned)


def _diagram_img(tag: str, diagram_url) -> str:
    # nh3 has already escaped the attribute values; they are unescaped here and escaped again when written.
    attrs = {name: html.unescape(value) for name, value in _ATTR.findall(tag)}
    alt = attrs.get("alt", "").strip()
    src = _DIAGRAM_SRC.match(attrs.get("src", "").strip())
    url = diagram_url(src.group("name")) if src and diagram_url and DIAGRAM_NAME.match(src.group("name")) else None
    if not url:
        return html.escape(alt, quote=False)
    size = "".join(f' {name}="{attrs[name]}"' for name in ("width", "height") if attrs.get(name, "").isdigit())
    # A link to the SVG itself: on a phone the learner can open the diagram alone and zoom in.
    return (
        f'<a class="diagram-link" href="{html.escape(url)}"><img src="{html.escape(url)}" alt="{html.escape(alt)}"{size} '
        f'loading="lazy" decoding="async"></a>'
    )


def highlight_concepts(safe_html: str, concepts: list[tuple[str, str]]) -> str:
    """Wrap the first mention of each (term, definition) in an <abbr> that is focusable, so a tap shows it too.

    Works on the text between tags of already-sanitised HTML; code, links and headings are left alone.
    Longer terms go first so "low-rank decomposition" wins over "rank".
    """
    pending = sorted(((t, d) for t, d in concepts if t and d), key=lambda item: -len(item[0]))
    if not pending:
        return safe_html
    patterns = [(re.compile(_boundary(term), re.IGNORECASE), term, definition) for term, definition in pending]
    done: set[str] = set()
    stack: list[str] = []
    out = []
    for part in _TAG.split(safe_html):
        if part.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            if name:
                tag = name.group(1).lower()
                if part.startswith("</"):
                    if tag in stack:
                        stack.remove(tag)
                elif tag in _SKIP_INSIDE:
                    stack.append(tag)
            out.append(part)
            continue
        if stack or not part.strip():
            out.append(part)
            continue
        out.append(_mark(part, patterns, done))
    return "".join(out)


def _boundary(term: str) -> str:
    escaped = re.escape(html.escape(term, quote=False))
    # ASCII terms match whole words ("rank" not inside "ranking"); Chinese has no spaces to lean on.
    return rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])" if term.isascii() else escaped


def _mark(text: str, patterns, done: set[str]) -> str:
    spans: list[tuple[int, int, str]] = []
    for pattern, _term, definition in patterns:
        if definition in done:
            continue
        for m in pattern.finditer(text):
            if all(m.end() <= a or m.start() >= b for a, b, _ in spans):
                spans.append((m.start(), m.end(), definition))
                done.add(definition)
                break
    if not spans:
        return text
    result, cursor = [], 0
    for start, end, definition in sorted(spans):
        result.append(text[cursor:start])
        result.append(
            f'<abbr class="concept" tabindex="0" data-definition="{html.escape(definition)}">{text[start:end]}</abbr>'
        )
        cursor = end
    result.append(text[cursor:])
    return "".join(result)

import html
import re

import markdown
import nh3
from django import template
from django.utils.safestring import mark_safe

from tutor.answering import CITATION

register = template.Library()


@register.filter
def answer_html(answer) -> str:
    """The answer's Markdown as safe HTML, each [n] a link to the section it cites."""
    urls = {c["n"]: c["url"] for c in answer.citations}
    # Citations become placeholders first so Markdown does not read "[1]" as a link reference.
    text = CITATION.sub(
        lambda m: "".join(
            f"\u2063{n.strip()}\u2063" for n in m.group(1).replace("，", ",").replace("、", ",").split(",")
        ),
        answer.text,
    )
    cleaned = nh3.clean(
        markdown.markdown(text), tags={"p", "ul", "ol", "li", "em", "strong", "code", "pre", "br", "blockquote"}
    )

    def link(match) -> str:
        number = int(match.group(1))
        if number not in urls:
            return ""
        return f'<a class="cite" href="{html.escape(urls[number])}">[{number}]</a>'

    return mark_safe(re.sub("\u2063(\\d+)\u2063", link, cleaned))

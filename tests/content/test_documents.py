"""Real documents a team would upload, from tests/fixtures/documents: each becomes the lesson and sections
its headings promise, its boilerplate stays out, and its key sentences are found by search."""

from pathlib import Path

import pytest

from content import services
from content.models import Chunk, Lesson
from content.retrieval import search
from content.textnorm import normalize

DOCUMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "documents"


def _ingest(tmp_path, *names, slug="docs"):
    course = services.course_get_or_create(slug=slug)
    for name in names:
        (tmp_path / name).write_bytes((DOCUMENTS / name).read_bytes())
    return course, services.paths_ingest(course=course, paths=[tmp_path])


def _headings(course, name):
    return [s.heading for s in Lesson.objects.get(course=course, source__name=name).sections.order_by("position")]


def _found(course, query, sentence, k=5):
    return any(normalize(sentence) in normalize(hit.text) for hit in search(query, course=course, k=k))


def _chunk_texts(course):
    return [normalize(t) for t in Chunk.objects.filter(section__lesson__course=course).values_list("text", flat=True)]


def test_a_wiki_page_with_links_tables_code_and_footnotes_is_ingested(db, tmp_path):
    course, report = _ingest(tmp_path, "onboarding-wiki.md")

    assert [(f.status, f.reason) for f in report.files] == [("ingested", "")]
    assert _headings(course, "onboarding-wiki.md") == [
        "Welcome to Lanternfish Labs", "How our assistant reads a prompt", "Budgets per team", "Calling the gateway",
        "Who to ask"]
    assert _found(course, "how many characters is a token", "a token is about four characters")
    assert _found(course, "Research team monthly token budget", "120 million tokens")
    assert _found(course, "who runs the weekly evaluation review", "who runs the weekly evaluation review")
    assert _found(course, "why are budgets for the Shanghai office higher", "budgets for the Shanghai office are set higher")

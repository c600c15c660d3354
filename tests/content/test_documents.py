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


HTML_BOILERPLATE = ["cookie", "accept all", "manage preferences", "people directory", "sign in", "expense policy",
                    "parking permits", "all rights reserved", "terms of use", "intranet team", "了解更多", "人事制度",
                    "版权所有", "隐私政策", "联系我们", "转载"]


def test_html_pages_keep_their_article_and_leave_navigation_banners_and_footers_out(db, tmp_path):
    course, report = _ingest(tmp_path, "evaluation-handbook.html", "zh-tokenizer-intro.html")

    assert [f.status for f in report.files] == ["ingested", "ingested"]
    assert Lesson.objects.filter(course=course).count() == 2
    assert _headings(course, "evaluation-handbook.html") == [
        "Evaluating a model before launch", "The held-out question set", "Reading the scores", "Who signs off"]
    assert _headings(course, "zh-tokenizer-intro.html") == ["分词器入门", "为什么中文更费词元", "上下文窗口"]
    texts = _chunk_texts(course)
    assert [noise for noise in HTML_BOILERPLATE if any(noise in text for text in texts)] == []
    assert _found(course, "who signs the launch note", "The evaluation owner of the month signs the launch note")
    assert _found(course, "how many times is each question run", "We run every question five times")
    assert _found(course, "为什么中文消耗更多词元", "中文通常消耗更多的词元预算")
    assert _found(course, "上下文窗口是什么", "上下文窗口是模型一次能读入的词元上限")
    for query in ["accept cookies and manage preferences", "隐私政策 联系我们"]:
        assert not any(noise in normalize(hit.text) for hit in search(query, course=course, k=5)
                       for noise in HTML_BOILERPLATE), query

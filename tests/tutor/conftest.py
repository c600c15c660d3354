"""A small course built from the shipped lesson files, with real embeddings (computed once per session)."""

import functools
import re
from pathlib import Path

import pytest
from django.utils.text import slugify

LESSONS = Path(__file__).resolve().parents[2] / "content" / "courses" / "llm-basics"
# Two lessons and their first sections keep the embedding work (CPU) to a few seconds per test session.
FILES = ["06-attention-and-transformers", "10-lora-and-matrix-rank"]
MAX_SECTIONS = 5


def _sections(path: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    text = path.read_text()
    front, body = text.split("\n---\n", 1)
    title = re.search(r'^title:\s*"?(.*?)"?\s*$', front, re.MULTILINE).group(1)
    sections = []
    for block in re.split(r"^## ", body, flags=re.MULTILINE)[1:]:
        heading, _, rest = block.partition("\n")
        paragraphs = [p.strip() for p in rest.split("\n\n") if len(p.strip()) > 40]
        chunks, current = [], ""
        for paragraph in paragraphs:
            if current and len(current) + len(paragraph) > 700:
                chunks.append(current)
                current = ""
            current = f"{current}\n\n{paragraph}".strip()
        if current:
            chunks.append(current)
        if chunks:
            sections.append((heading.strip(), chunks))
    return title, sections[:MAX_SECTIONS]


@functools.cache
def course_material():
    from llm.embeddings import get_embedder

    lessons = []
    for order, stem in enumerate(FILES, start=1):
        for language, suffix in (("en", "en"), ("zh-hans", "zh")):
            title, sections = _sections(LESSONS / f"{stem}.{suffix}.md")
            lessons.append((order, stem.split("-", 1)[1], language, title, sections))
    texts = [chunk for *_, sections in lessons for _, chunks in sections for chunk in chunks]
    vectors = dict(zip(texts, get_embedder().passages(texts), strict=False))
    return lessons, vectors


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The per-minute question counters live in Redis, which outlives the test database (and its user ids)."""
    from django.core.cache import cache

    cache.delete_pattern("tutor:asked:*")
    yield
    cache.delete_pattern("tutor:asked:*")


@pytest.fixture
def course(db):
    """Two lessons of the shipped course in English and Chinese: sections, chunks and embeddings."""
    from content.models import Chunk, Course, Lesson, Section, Source

    lessons, vectors = course_material()
    course = Course.objects.create(slug="llm-basics", title="How LLMs work", title_zh="大语言模型如何工作")
    for order, slug, language, title, sections in lessons:
        source = Source.objects.create(
            course=course,
            name=f"{order:02d}-{slug}.{language}.md",
            title=title,
            language=language,
            content_hash=f"{slug}{language}",
        )
        lesson = Lesson.objects.create(
            course=course, source=source, slug=slug, language=language, order=order, title=title
        )
        for position, (heading, chunks) in enumerate(sections):
            section = Section.objects.create(
                lesson=lesson,
                position=position,
                heading=heading,
                anchor=slugify(heading, allow_unicode=True) or f"s{position}",
                body="\n\n".join(chunks),
            )
            Chunk.objects.bulk_create(
                [
                    Chunk(section=section, position=i, text=text, embedding=vectors[text], search_tokens=text.lower())
                    for i, text in enumerate(chunks)
                ]
            )
    return course


def add_passage(course, text: str, *, heading="Notes", language="en"):
    """One more section with a single chunk (for tests that need a particular passage in the course)."""
    from content.models import Chunk, Lesson, Section
    from llm.embeddings import get_embedder

    lesson = Lesson.objects.filter(course=course, language=language).first()
    section = Section.objects.create(lesson=lesson, position=99, heading=heading, anchor=slugify(heading), body=text)
    return Chunk.objects.create(
        section=section, position=0, text=text, embedding=get_embedder().passages([text])[0], search_tokens=text.lower()
    )

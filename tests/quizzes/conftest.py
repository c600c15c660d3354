"""Course content built straight in the database (or from a real lesson file), and learners with profiles."""

import itertools
from datetime import UTC, datetime
from pathlib import Path

import frontmatter
import pytest

from content.models import Concept, Course, Lesson, Section, Source

COURSE_DIR = Path(__file__).resolve().parents[2] / "content" / "courses" / "llm-basics"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def deterministic_schedule(settings):
    # FSRS fuzzing spreads long intervals at random; tests that move the clock need the unfuzzed schedule.
    settings.QUIZZES_FSRS_FUZZING = False


@pytest.fixture
def now():
    return MONDAY


def course_make(slug: str = "llm-basics") -> Course:
    return Course.objects.create(slug=slug, title="How LLMs work", title_zh="大模型是怎样工作的")


def lesson_from_file(course: Course, filename: str) -> Lesson:
    """What the content loader does with one lesson file, enough for the quizzes app's tests."""
    post = frontmatter.load(COURSE_DIR / filename)
    meta = post.metadata
    language = "zh-hans" if meta["language"] == "zh" else meta["language"]
    source, _ = Source.objects.get_or_create(
        course=course, name=f"{meta['slug']}.{language}.md", defaults={"content_hash": "x", "language": language}
    )
    lesson = Lesson.objects.create(
        course=course,
        source=source,
        slug=meta["slug"],
        language=language,
        order=meta["order"],
        title=meta["title"],
        questions=meta.get("questions", []),
    )
    bodies = [part for part in ("\n" + post.content).split("\n## ") if part.strip()]
    sections = {}
    for position, part in enumerate(bodies):
        heading, _, body = part.partition("\n")
        sections[heading.strip()] = Section.objects.create(
            lesson=lesson, position=position, heading=heading.strip(), anchor=f"s{position}", body=body.strip()
        )
    for item in meta.get("concepts", []):
        slug = item["term"].lower().replace(" ", "-")
        concept, _ = Concept.objects.get_or_create(course=course, slug=slug, defaults={"term": item["term"]})
        concept.aliases = list({*concept.aliases, *item.get("aliases", [])})
        if language == "en":
            concept.definition = item.get("definition", "")
        else:
            concept.definition_zh = item.get("definition", "")
        concept.save()
        if item.get("section") in sections:
            concept.sections.add(sections[item["section"]])
    return lesson


@pytest.fixture
def course(db):
    return course_make()


@pytest.fixture
def lora_lesson(course):
    return lesson_from_file(course, "10-lora-and-matrix-rank.en.md")


@pytest.fixture
def lora_lesson_zh(course, lora_lesson):
    return lesson_from_file(course, "10-lora-and-matrix-rank.zh.md")


@pytest.fixture
def loaded_course(course, lora_lesson, lora_lesson_zh):
    from quizzes.services import handwritten_questions_load

    handwritten_questions_load(course=course)
    return course


def section_make(*, lesson=None, heading="Attention", body="Attention lets every token look at every other token."):
    if lesson is None:
        course = Course.objects.first() or course_make()
        source = Source.objects.create(course=course, name=f"s{next(_numbers)}.md", content_hash="x")
        lesson = Lesson.objects.create(
            course=course, source=source, slug=f"l{next(_numbers)}", language="en", title="A lesson"
        )
    return Section.objects.create(
        lesson=lesson, position=next(_numbers), heading=heading, anchor=f"a{next(_numbers)}", body=body
    )


def question_make(*, section=None, concepts=(), **fields):
    from quizzes.models import Question

    section = section or section_make()
    defaults = {
        "type": "cloze",
        "prompt": f"Blank number {next(_numbers)}: ____",
        "answer": "token",
        "origin": "handwritten",
        "status": "approved",
        "language": "en",
    }
    question = Question.objects.create(section=section, **{**defaults, **fields})
    question.concepts.set(concepts)
    return question

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import Q

from content.models import Lesson, Section, Source
from quizzes.generation import questions_generate, questions_generate_once
from quizzes.models import GenerationRun, Question
from quizzes.verification import Draft, verify

from .conftest import course_make

pytestmark = pytest.mark.django_db


def seed_course(seeds_dir):
    """The five seed articles as one course, a section per ~1,500 characters, as ingestion would give it."""
    course = course_make("seeds")
    for order, path in enumerate(sorted(seeds_dir.glob("0*.txt"))):
        source = Source.objects.create(course=course, name=path.name, content_hash=path.name, language="zh-hans")
        lesson = Lesson.objects.create(
            course=course,
            source=source,
            slug=path.stem.replace("_", "-"),
            order=order,
            language="zh-hans",
            title=path.name,
        )
        text, position, chunk = path.read_text(), 0, ""
        for paragraph in text.split("\n"):
            chunk += paragraph + "\n"
            if len(chunk) > 1500:
                Section.objects.create(
                    lesson=lesson, position=position, heading=f"§{position}", anchor=f"s{position}", body=chunk
                )
                position, chunk = position + 1, ""
        if chunk.strip():
            Section.objects.create(
                lesson=lesson, position=position, heading=f"§{position}", anchor=f"s{position}", body=chunk
            )
    return course


def test_the_five_seed_articles_give_questions_that_pass_or_are_rejected_with_a_reason(seeds_dir):
    course = seed_course(seeds_dir)
    report = questions_generate(course=course, use_llm=False)
    generated = Question.objects.filter(section__lesson__course=course)
    assert generated.count() == report.approved + report.rejected
    assert report.approved >= 20
    assert not generated.filter(status="rejected", rejection_reason="").exists()
    for question in generated.filter(status="approved"):
        assert question.origin == "rule"
        assert (
            verify(
                Draft(
                    type=question.type,
                    prompt=question.prompt,
                    answer=question.answer,
                    options=question.options,
                    evidence=question.evidence,
                ),
                section_text=question.section.body,
            )
            is None
        )


def test_rule_built_questions_for_the_shipped_lesson_pass_verification_and_regenerating_adds_nothing(loaded_course):
    first = questions_generate(course=loaded_course, use_llm=False)
    match = Question.objects.filter(
        Q(prompt__startswith="Which concept matches") | Q(prompt__startswith="哪个概念符合"),
        origin="rule",
        type="mcq",
        status="approved",
    )
    assert match.exists()
    for question in Question.objects.filter(origin="rule", status="approved"):
        # A diagram's Markdown never reaches a question: it is read as its alt text.
        assert "](diagrams/" not in question.prompt and "](diagrams/" not in question.evidence
    for question in match:
        assert question.answer in question.options and len(question.options) in (3, 4)
        assert question.answer.casefold() not in question.prompt.casefold()
    count = Question.objects.count()
    second = questions_generate(course=loaded_course, use_llm=False)
    assert Question.objects.count() == count
    assert second.skipped == first.approved + first.rejected + first.drafts


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (
            Draft(
                type="mcq",
                prompt="Which of these is NOT a matrix?",
                answer="a",
                options=["a", "b", "c"],
                evidence="a is here",
            ),
            "negation",
        ),
        (
            Draft(
                type="mcq", prompt="Pick one", answer="a", options=["a", "b", "all of the above"], evidence="a is here"
            ),
            "catch-all",
        ),
        (Draft(type="mcq", prompt="Pick one", answer="a", options=["a", "a", "c"], evidence="a is here"), "the same"),
        (
            Draft(
                type="mcq",
                prompt="Pick one",
                answer="rank",
                options=["rank", "GPU memory", "a much longer option that goes on and on and on"],
                evidence="the rank is how many rows are independent",
            ),
            "length",
        ),
        (
            Draft(
                type="mcq",
                prompt="Pick one",
                answer="rank",
                options=["rank", "rows", "LoRA"],
                evidence="the rank is how many rows are independent",
            ),
            "distractor",
        ),
        (
            Draft(
                type="cloze",
                prompt="The rank ____ is the rank",
                answer="rank",
                evidence="the rank is how many rows are independent",
            ),
            "gives the answer away",
        ),
        (
            Draft(type="cloze", prompt="The ____ counts rows", answer="rank", evidence="rank is made up"),
            "does not occur",
        ),
    ],
)
def test_verification_rejects_flawed_items_with_a_reason(draft, reason):
    assert reason in verify(draft, section_text="The **rank** is how many rows are independent. a is here.")


@pytest.mark.django_db(transaction=True)
def test_two_runs_for_one_course_at_once_make_each_question_once_and_the_second_returns_without_work(seeds_dir):
    course = seed_course(seeds_dir)
    results, errors = {}, []

    def run(name: str) -> None:
        try:
            results[name] = questions_generate_once(course=course)
        except BaseException as error:  # noqa: BLE001 -- reported by the test below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own database connection

    first, second = threading.Thread(target=run, args=("first",)), threading.Thread(target=run, args=("second",))
    with transaction.atomic():
        # Holding the course's sections makes the first run, once it has claimed the course, wait at its first
        # question (the question's reference to its section needs that row): the two runs surely overlap.
        list(Section.objects.select_for_update().filter(lesson__course=course))
        first.start()
        deadline = time.monotonic() + 120
        while not GenerationRun.objects.filter(course=course, running_since__isnull=False).exists():
            assert time.monotonic() < deadline and not errors, errors or "the first run never claimed the course"
            time.sleep(0.05)
        second.start()
        second.join(timeout=120)
        assert not second.is_alive(), "the second run returned while the first one was still going"
        assert results.get("second", "missing") is None
        assert not Question.objects.filter(section__lesson__course=course).exists(), "the second run made none"
    first.join(timeout=600)
    assert not errors, errors

    keys = list(Question.objects.filter(section__lesson__course=course).values_list("key", flat=True))
    assert len(keys) >= 20 and len(keys) == len(set(keys))
    # Asked for by the second run, the first ran once more at the end, and found every question already there.
    assert (results["first"].approved, results["first"].rejected, results["first"].skipped) == (0, 0, len(keys))
    claim = GenerationRun.objects.get(course=course)
    assert claim.running_since is None and not claim.rerun_wanted, "the claim is handed back"
    assert questions_generate_once(course=course).skipped == len(keys), "a later run claims it again"

"""manage.py check_questions and generate_questions report what fails and why, hand-written questions included."""

from io import StringIO

import pytest
from django.core.management import call_command

from .conftest import question_make, section_make

pytestmark = pytest.mark.django_db


def test_check_questions_lists_a_flawed_hand_written_question_with_its_problems(loaded_course):
    section = loaded_course.lessons.first().sections.first()
    question_make(
        section=section,
        type="mcq",
        prompt="Which of these is NOT how LoRA saves memory?",
        options=["it trains two thin matrices whose product is the update", "GPU", "CPU"],
        answer="it trains two thin matrices whose product is the update",
    )
    out = StringIO()
    call_command("check_questions", course=loaded_course.slug, stdout=out)
    report = out.getvalue()
    assert "1 fail" in report
    assert "Which of these is NOT how LoRA saves memory?" in report
    assert "stem: the stem asks for a negation" in report
    assert "distractors: the right option is the longest by far" in report


def test_check_questions_passes_the_shipped_lessons_questions(loaded_course):
    out = StringIO()
    call_command("check_questions", course=loaded_course.slug, stdout=out)
    assert ", 0 fail" in out.getvalue()


def test_generate_questions_prints_each_rejection_with_its_reason(course):
    section = section_make(
        body="The **rank** of a matrix is how many of its rows are independent. The rank "
        "decides how few numbers store it."
    )
    question_make(
        section=section,
        type="cloze",
        prompt="The ____ of a matrix is how many of its rows are independent.",
        answer="rank",
        origin="rule",
        key=None,
    )
    out = StringIO()
    call_command("generate_questions", course=course.slug, offline=True, stdout=out)
    assert out.getvalue().startswith("approved ")

import pytest

from quizzes.generation import questions_generate
from quizzes.grading import grade
from quizzes.models import Question

from .conftest import question_make, section_make

pytestmark = pytest.mark.django_db


def test_a_short_answer_is_graded_by_the_model_with_its_reason(fake_openai):
    from tests.fake_openai import JSONReply

    fake_openai.script(JSONReply({"correct": True, "reason": "It names the frozen base weights."}))
    question = question_make(type="free_text", prompt="What does LoRA keep frozen?", answer="The base weights W0")
    result = grade(question=question, answer="the original matrix")
    assert result.correct and result.reason == "It names the frozen base weights."
    assert "Reference answer: The base weights W0" in str(fake_openai.chat_requests()[-1])


def test_a_failing_model_falls_back_to_keyword_grading(fake_openai):
    from tests.fake_openai import Status

    fake_openai.script(Status(500), Status(500), Status(500))
    question = question_make(type="free_text", prompt="What does LoRA keep frozen?", answer="frozen base weights",
                             accept=["frozen", "base"])
    assert grade(question=question, answer="It keeps the base weights frozen").correct


def test_llm_questions_are_verified_and_wait_as_drafts(fake_openai, course):
    from tests.fake_openai import JSONReply

    section = section_make(body="LoRA freezes the pre-trained weight matrix W0 and trains two thin matrices.")
    section.lesson.course = course
    section.lesson.save()
    good = {"type": "cloze", "prompt": "LoRA ____ the pre-trained weight matrix.", "options": [],
            "answer": "freezes", "explanation": "Only B and A train.", "difficulty": 1,
            "evidence": "LoRA freezes the pre-trained weight matrix W0"}
    invented = {**good, "prompt": "LoRA was invented in ____.", "answer": "2021", "evidence": "LoRA came in 2021"}
    fake_openai.script(JSONReply({"questions": [good, invented]}))
    report = questions_generate(course=course, use_llm=True)
    assert (report.drafts, report.rejected) == (1, 1)
    assert Question.objects.get(answer="2021").rejection_reason == "evidence: the quoted evidence does not occur in the section"
    assert Question.objects.get(answer="freezes").status == "draft"
    request = fake_openai.chat_requests()[-1]
    assert request["response_format"]["type"] == "json_schema" and section.body in str(request["messages"])

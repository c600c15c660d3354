"""Offline question generation on the five real seed articles, ingested as a user would ingest them."""

import pytest

from content import services
from content.models import Course
from llm.embeddings import get_embedder
from quizzes.generation import questions_generate
from quizzes.models import Question
from quizzes.verification import NEAR_DUPLICATE, contains, embedding_text, question_problems
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    if not SEEDS.is_dir():
        pytest.skip("the source articles (../shared/seeds) are not present")
    with django_db_blocker.unblock():
        course = services.course_get_or_create(slug="seed-questions", title="Seed articles")
        services.paths_ingest(course=course, paths=[SEEDS])
        report = questions_generate(course=course, use_llm=False)
        approved = list(
            Question.objects.filter(section__lesson__course=course, status="approved").select_related("section__lesson")
        )
        print(f"offline generation: {report}")
        yield course, report, approved
        Question.objects.filter(section__lesson__course=course).delete()
        Course.objects.filter(pk=course.pk).delete()


def as_item(question):
    return {
        "type": question.type,
        "prompt": question.prompt,
        "options": question.options,
        "answer": question.answer,
        "accept": question.accept,
        "evidence": question.evidence,
    }


def test_at_least_20_questions_are_approved_without_a_model(generated, db):
    _, report, approved = generated
    assert report.approved >= 20 and len(approved) == report.approved


def test_every_approved_question_passes_every_check_against_its_section(generated, db):
    _, _, approved = generated
    failures = {
        q.prompt: problems for q in approved if (problems := question_problems(as_item(q), section_text=q.section.body))
    }
    assert failures == {}


def test_no_approved_question_gives_its_answer_away_in_the_stem(generated, db):
    _, _, approved = generated
    assert [q.prompt for q in approved if contains(q.prompt.replace("____", " "), q.answer)] == []
    assert all("____" in q.prompt for q in approved)


def test_no_two_approved_questions_are_near_duplicates(generated, db):
    _, _, approved = generated
    vectors = get_embedder().passages([embedding_text(q.prompt, q.answer) for q in approved])
    similarities = vectors @ vectors.T
    pairs = [
        (approved[i].prompt, approved[j].prompt)
        for i in range(len(approved))
        for j in range(i)
        if similarities[i, j] >= NEAR_DUPLICATE
    ]
    assert pairs == []


def test_the_questions_cover_every_article_and_mix_blanks_with_choices(generated, db):
    _, _, approved = generated
    assert len({q.section.lesson_id for q in approved}) == 5
    assert {q.type for q in approved} == {"mcq", "cloze"}
    # One question per fact: the same term is never asked twice in one article.
    terms = [(q.section.lesson_id, q.answer.casefold()) for q in approved]
    assert len(terms) == len(set(terms))


def test_distractors_are_terms_of_the_same_script_and_a_similar_length(generated, db):
    _, _, approved = generated
    for question in (q for q in approved if q.type == "mcq"):
        assert 3 <= len(question.options) <= 4 and question.answer in question.options
        problems = question_problems(as_item(question))
        assert not [p for p in problems if p.startswith("distractors:")], (question.prompt, question.options)


def test_every_rejection_names_its_problem(generated, db):
    course, report, _ = generated
    rejected = Question.objects.filter(section__lesson__course=course, status="rejected")
    assert rejected.count() == report.rejected == len(report.rejections)
    assert not rejected.filter(rejection_reason="").exists()
    assert set(report.reasons) <= {"evidence", "options", "distractors", "stem", "duplicate"}

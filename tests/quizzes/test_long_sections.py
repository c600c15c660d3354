"""A section longer than the model's context is sent in pieces that fit, against the OpenAI-protocol test server
playing a small model (tests/fake_openai.py): each piece gets the model's questions, which cite their section."""

import pytest

import llm
from llm.tokens import count_messages
from quizzes.generation import questions_generate, section_pieces
from quizzes.models import GenerationRun, Question
from tests.fake_openai import JSONReply, Status

from .conftest import section_make

pytestmark = pytest.mark.django_db

# Sentences of our own about the ideas a lesson teaches; a long section says them at length.
SENTENCES = [
    "LoRA freezes the pre-trained weight matrix and trains two thin matrices beside it.",
    "The product of the two thin matrices has a low rank, so few numbers change during fine-tuning.",
    "A tokenizer cuts text into pieces that the model has an embedding for.",
    "Attention lets every token weigh every earlier token when it builds its next representation.",
    "The key and value vectors of earlier tokens are kept in a cache so they are not computed twice.",
    "Sampling with a low temperature makes the likeliest next token win more often.",
]


def long_section(course, repeats: int = 12):
    lines = [" ".join(SENTENCES[i % len(SENTENCES)] for i in range(start, start + 3)) for start in range(repeats)]
    section = section_make(heading="Fine-tuning and serving", body="\n".join(lines))
    section.lesson.course = course
    section.lesson.save()
    return section


def reply(number: int, evidence: str) -> JSONReply:
    return JSONReply(
        {
            "questions": [
                {
                    "type": "free_text",
                    "prompt": f"Question {number}: what does the section say about this idea?",
                    "options": [],
                    "answer": evidence.split(" ")[0],
                    "explanation": evidence,
                    "evidence": evidence,
                    "difficulty": 2,
                }
            ]
        }
    )


def test_pieces_are_cut_between_sentences_and_lose_nothing():
    text = "\n".join(SENTENCES * 4)
    pieces = section_pieces(text, room=60)
    assert len(pieces) > 1
    assert all(llm.tokens.count_tokens(piece) <= 60 for piece in pieces)
    assert [s for piece in pieces for s in piece.split("\n")] == SENTENCES * 4
    assert section_pieces("One short sentence.", room=60) == ["One short sentence."]


def test_a_section_longer_than_the_context_llama_cpp_reports_is_asked_about_in_pieces(fake_openai, course):
    fake_openai.context_tokens = 1024  # what llama.cpp's /props says
    section = long_section(course)
    fake_openai.script(*[reply(n, SENTENCES[n % len(SENTENCES)]) for n in range(20)])

    report = questions_generate(course=course, use_llm=True)

    requests = fake_openai.chat_requests()
    assert len(requests) >= 2 and fake_openai.refusals == 0, "every piece fits; none is refused"
    assert all(count_messages(r["messages"]) + r["max_tokens"] <= 1024 for r in requests)
    sent = [r["messages"][-1]["content"].split("\n\n", 1)[1] for r in requests]
    assert all(piece in section.text for piece in sent)
    model_questions = Question.objects.filter(origin="llm")
    assert model_questions.count() == len(requests)
    assert set(model_questions.values_list("section", flat=True)) == {section.pk}
    assert report.drafts >= 1 and report.without_model == []
    assert GenerationRun.objects.get(course=course).without_model == []


def test_a_server_that_does_not_say_its_context_refuses_once_and_the_rest_is_cut_to_fit(fake_openai, course, settings):
    # llama-cpp-python's server: no /props, no max_model_len; its tokenizer counts more than ours.
    fake_openai.context_tokens, fake_openai.flavour, fake_openai.token_ratio = 2048, "llama-cpp-python", 1.5
    section = long_section(course, repeats=60)
    fake_openai.script(*[reply(n, SENTENCES[n % len(SENTENCES)]) for n in range(40)])

    report = questions_generate(course=course, use_llm=True)

    assert fake_openai.refusals == 1, "refused once; after that every piece fits"
    assert not llm.breaker_is_open()
    assert llm.context_tokens() == 2048
    assert report.without_model == []
    assert Question.objects.filter(origin="llm", section=section).count() == len(fake_openai.chat_requests()) - 1


def test_a_refusal_for_length_that_cutting_cannot_help_is_the_sections_recorded_reason(fake_openai, course):
    refusal = Status(400, "request (9000 tokens) exceeds the available context size (4096 tokens)")
    fake_openai.script(refusal, refusal, refusal, refusal)
    section = long_section(course, repeats=2)

    report = questions_generate(course=course, use_llm=True)

    assert not llm.breaker_is_open(), "a request too long for the model is no outage"
    [entry] = GenerationRun.objects.get(course=course).without_model
    assert entry["section"] == section.pk and "too long for its context" in entry["reason"]
    assert report.without_model == [entry]
    assert Question.objects.filter(section=section, origin="rule").exists(), "the section still gets questions"


def test_a_context_too_small_for_the_instructions_is_the_sections_recorded_reason(fake_openai, course):
    fake_openai.context_tokens = 256
    section = long_section(course, repeats=2)

    report = questions_generate(course=course, use_llm=True)

    assert fake_openai.chat_requests() == [], "not sent what the server would refuse"
    [entry] = report.without_model
    assert entry["section"] == section.pk and "leaves no room" in entry["reason"]

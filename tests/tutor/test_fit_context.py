"""The tutor fits its prompt to a small model's context (the OpenAI-protocol test server playing one): the
lowest-ranked passages and the oldest turns go, and the model still answers, citing what it was given."""

import math

import pytest

import llm
from llm.tokens import count_messages
from tests.fake_openai import Reply
from tutor import answering, services

pytestmark = pytest.mark.django_db

QUESTION = "What is self-attention?"


def context_for(prompt_tokens: int, reply: int) -> int:
    """A context whose room for the prompt (llm.prompt_room) is `prompt_tokens`."""
    return math.ceil((prompt_tokens + reply) / llm.CONTEXT_MARGIN)


def ask(alice, course, *, earlier: list[tuple[str, str]] = ()):
    conversation = services.conversation_start(user=alice, question=QUESTION, course=course)
    for asked, answered in earlier:
        services.answer_create(conversation=conversation, question=asked)
        conversation.answers.filter(question=asked).update(status="done", text=answered, mode="llm")
    answer = services.answer_create(conversation=conversation, question=QUESTION)
    return services.answer_complete(answer)


def test_the_lowest_ranked_passages_go_when_all_of_them_do_not_fit(fake_openai, settings, alice, course):
    settings.LLM_ANSWER_MAX_TOKENS = 100
    prepared = answering.prepare(QUESTION, course=course)
    assert len(prepared.passages) >= 3
    two = answering.build_messages(answering.replace(prepared, passages=prepared.passages[:2]))
    fake_openai.context_tokens = context_for(count_messages(two), 100)  # llama.cpp's /props says so
    fake_openai.default = Reply("Self-attention lets each token weigh the others [1].")

    answer = ask(alice, course)

    [request] = fake_openai.chat_requests()
    sent = request["messages"][-1]["content"]
    assert sent.count("<passage ") == 2 and 'number="1"' in sent and 'number="3"' not in sent
    assert fake_openai.refusals == 0 and request["max_tokens"] == 100
    assert answer.mode == "llm" and [c["n"] for c in answer.citations] == [1]


def test_old_turns_go_before_any_passage(fake_openai, settings, alice, course):
    settings.LLM_ANSWER_MAX_TOKENS = 100
    prepared = answering.prepare(QUESTION, course=course)
    long_answer = "Attention mixes the tokens of a sentence by weighing them. " * 60
    earlier = [("What is a token?", "A token is a piece of text. " * 10), ("And attention?", long_answer)]
    recent = answering.build_messages(prepared, history=earlier[1:])
    fake_openai.context_tokens = context_for(count_messages(recent) + 40, 100)
    # The follow-up is rewritten into a search query first: the question itself, so retrieval finds the same.
    fake_openai.script(Reply(QUESTION))
    fake_openai.default = Reply("Self-attention weighs the tokens [1].")

    ask(alice, course, earlier=earlier)

    request = fake_openai.chat_requests()[-1]
    said = [m["content"] for m in request["messages"]]
    assert "What is a token?" not in said and "And attention?" in said, "the oldest turn went first"
    assert said[-1].count("<passage ") == len(prepared.passages)


def test_a_server_that_does_not_say_its_context_is_asked_again_with_a_prompt_that_fits(
    fake_openai, settings, alice, course
):
    settings.LLM_ANSWER_MAX_TOKENS = 100
    prepared = answering.prepare(QUESTION, course=course)
    one = answering.build_messages(answering.replace(prepared, passages=prepared.passages[:1]))
    # llama-cpp-python's server: it says nothing, and its tokenizer counts more than llm.tokens.
    fake_openai.flavour, fake_openai.token_ratio = "llama-cpp-python", 1.3
    fake_openai.context_tokens = context_for(round(count_messages(one) * 1.3 * 1.2), 100)
    fake_openai.default = Reply("Self-attention lets each token weigh the others [1].")

    answer = ask(alice, course)

    assert fake_openai.refusals == 1 and len(fake_openai.chat_requests()) == 2
    assert not llm.breaker_is_open()
    assert answer.mode == "llm" and not answer.fallback_reason
    assert fake_openai.chat_requests()[-1]["messages"][-1]["content"].count("<passage ") < len(prepared.passages)

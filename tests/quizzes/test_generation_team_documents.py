"""Offline questions from a team's own documents, as they upload them: a word that merely opens a sentence is no
term, code is no prose to blank, and neither the article nor the case before a blank tells which option fits."""

from pathlib import Path

import pytest

from content import services
from quizzes.generation import questions_generate
from quizzes.models import Question
from quizzes.verification import plain

pytestmark = pytest.mark.django_db
DOCUMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "documents"

GUIDE = b"""# Serving guide

Every model we deploy sits behind the gateway. Every request passes through it first.

## The gateway

The gateway is the single HTTP service that forwards each request to a model server. The gateway also counts tokens.
Count the tokens of a long prompt before you send it. Count twice if the prompt holds code.

An embedding is a list of numbers that represents the meaning of a text. We store one embedding per passage.
A reranker is a small model that scores each passage against the question. The reranker runs after retrieval.
Batching is a way to send many prompts in one request, which lowers the cost per prompt. Batching needs care.

```bash
# Install the client
pip install harbor-client==1.2
export GATEWAY_KEY=abc123
```

The KV cache is a store of attention keys and values that the server keeps between tokens. The KV cache grows.
"""


def _approved(course):
    return list(Question.objects.filter(section__lesson__course=course, status="approved"))


def test_questions_from_a_team_document_ask_its_terms_not_the_words_that_open_its_sentences():
    course = services.course_get_or_create(slug="serving")
    assert services.file_ingest(course=course, name="guide.md", data=GUIDE).status == "ingested"
    questions_generate(course=course, use_llm=False)
    approved = _approved(course)
    answers = {q.answer.casefold() for q in approved}
    assert approved and answers <= {"gateway", "embedding", "reranker", "batching", "kv cache"}, answers
    assert not any("pip" in q.prompt or "GATEWAY" in q.prompt for q in approved), "code is not asked about"
    for question in approved:
        assert " an ____" not in question.prompt.lower() and " a ____" not in f" {question.prompt.lower()}"
        if question.type == "mcq" and question.prompt.startswith("____"):
            assert all(option[:1].isupper() for option in question.options), question.options


def test_an_underscore_inside_a_word_is_the_word_s_own():
    assert plain("Set `GATEWAY_KEY` and read the _guide_ and the [style guide][style].") == (
        "Set GATEWAY_KEY and read the guide and the style guide."
    )


def test_a_wiki_page_s_sentence_openers_and_its_code_are_never_the_answer():
    # Before, these two pages asked "This ____ explains…" (note), "____ model has a context window" (Every),
    # "____ the style guide" (Read), "easy to ____ how a prompt is split" (count) and "pip ____ harbor-tok".
    course = services.course_get_or_create(slug="wiki")
    for name in ["setext-reflinks.md", "tilde-fence-table.md"]:
        services.file_ingest(course=course, name=name, data=(DOCUMENTS / name).read_bytes())
    questions_generate(course=course, use_llm=False)
    answers = {q.answer.casefold() for q in _approved(course)}
    assert not answers & {"note", "every", "read", "count", "install"}, answers
    assert not any("pip" in q.prompt for q in _approved(course))


def test_a_term_inside_a_longer_one_is_not_blanked_and_a_fragment_is_no_distractor():
    # Before: "____窗口是指…" asked for 上下文 inside 上下文窗口, and "按照 ____ Schema" offered "Prompt" and "Thought",
    # the halves of "System Prompt" and "Chain of Thought".
    course = services.course_get_or_create(slug="guides")
    for name in ["new-hire-guide.zh.md", "prompting-guide.mixed.md"]:
        services.file_ingest(course=course, name=name, data=(DOCUMENTS / name).read_bytes())
    questions_generate(course=course, use_llm=False)
    approved = _approved(course)
    assert approved
    assert not any("____窗口" in q.prompt for q in approved)
    fragments = {"prompt", "thought", "chain", "system", "output"}
    assert not any(fragments & {o.casefold() for o in q.options} for q in approved), [q.options for q in approved]


def test_no_question_asks_for_a_term_its_lesson_title_names():
    # Today shows the lesson's title above each question: "LoRA in practice" would give away "LoRA".
    page = (
        b"# LoRA in practice\n\n## Small matrices\n\nLoRA trains two small matrices beside each frozen weight, so a "
        b"fine-tuning run needs far less GPU memory. We use LoRA for every adapter we ship to the support team.\n\n"
        b"## Measuring the cost\n\nPerplexity is the exponential of the average loss, so lower perplexity means a "
        b"better model of the text. We compare perplexity before and after every change.\n"
    )
    course = services.course_get_or_create(slug="notes")
    services.file_ingest(course=course, name="notes.md", data=page)
    questions_generate(course=course, use_llm=False)
    answers = {q.answer.casefold() for q in _approved(course)}
    assert answers and "lora" not in answers, answers

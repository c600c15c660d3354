import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.fake_openai import Reply, Status

pytestmark = pytest.mark.django_db


def ask(*args) -> dict:
    out = io.StringIO()
    call_command("ask", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_ask_prints_an_offline_answer_with_citations_as_json(course):
    result = ask("What is self-attention?", "--course", "llm-basics")
    assert set(result) == {"answer", "mode", "citations"}
    assert result["mode"] == "offline" and "[1]" in result["answer"]
    assert set(result["citations"][0]) == {"source", "lesson", "section", "url"}


def test_ask_uses_the_model_when_one_is_configured_and_falls_back_when_it_fails(course, fake_openai):
    fake_openai.default = Reply("Self-attention relates tokens to each other [1]. Unknown [9].")
    result = ask("What is self-attention?")
    assert result["mode"] == "llm"
    assert result["answer"] == "Self-attention relates tokens to each other [1]. Unknown."
    fake_openai.default = Status(503)
    assert ask("What is self-attention?")["mode"] == "offline"


def test_ask_refuses_an_unknown_course(course):
    with pytest.raises(CommandError):
        ask("What is self-attention?", "--course", "nope")

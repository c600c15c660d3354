"""The LLM client layer against a real OpenAI-protocol server on localhost."""

import asyncio

import pytest

import llm
from tests.fake_openai import JSONReply, Malformed, Reply, Slow, Status

MESSAGES = [{"role": "user", "content": "What is a token?"}]


def stream(messages=MESSAGES):
    async def collect():
        return [piece async for piece in llm.astream_chat(messages)]

    return asyncio.run(collect())


def test_it_returns_the_models_answer(fake_openai):
    fake_openai.default = Reply("A token is a piece of text [1].")
    assert llm.chat(MESSAGES) == "A token is a piece of text [1]."
    request = fake_openai.chat_requests()[0]
    assert request["model"] == "fake-model"
    assert request["messages"] == MESSAGES


def test_it_streams_the_answer_piece_by_piece(fake_openai):
    fake_openai.default = Reply("Attention lets every token look at the others [2].")
    pieces = stream()
    assert len(pieces) > 3
    assert "".join(pieces) == "Attention lets every token look at the others [2]."
    assert fake_openai.chat_requests()[0]["stream"] is True


def test_it_streams_chinese_character_by_character(fake_openai):
    fake_openai.default = Reply("注意力让每个词元关注其他词元。")
    pieces = stream()
    assert "".join(pieces) == "注意力让每个词元关注其他词元。"
    assert len(pieces) >= 10


def test_it_retries_a_429_and_then_succeeds(fake_openai):
    fake_openai.script(Status(429), Reply("ok"))
    assert llm.chat(MESSAGES) == "ok"
    assert len(fake_openai.chat_requests()) == 2


def test_it_retries_a_429_before_streaming(fake_openai):
    fake_openai.script(Status(429), Reply("streamed ok"))
    assert "".join(stream()) == "streamed ok"
    assert len(fake_openai.chat_requests()) == 2


def test_it_gives_up_after_repeated_500s(fake_openai, settings):
    fake_openai.script(Status(500), Status(502), Status(503))
    with pytest.raises(llm.LLMError):
        llm.chat(MESSAGES)
    assert len(fake_openai.chat_requests()) == settings.LLM_MAX_ATTEMPTS


def test_it_fails_fast_on_a_400(fake_openai):
    fake_openai.script(Status(400, "bad request"))
    with pytest.raises(llm.LLMError):
        llm.chat(MESSAGES)
    with pytest.raises(llm.LLMError):
        fake_openai.script(Status(401, "bad key"))
        stream()
    assert len(fake_openai.chat_requests()) == 2


def test_it_gives_up_on_a_model_slower_than_the_timeout(fake_openai, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.5
    fake_openai.default = Slow(5)
    with pytest.raises(llm.LLMError):
        stream()
    with pytest.raises(llm.LLMError):
        llm.chat(MESSAGES)


def test_it_rejects_a_response_that_is_not_json(fake_openai):
    fake_openai.default = Malformed()
    with pytest.raises(llm.LLMError):
        llm.chat(MESSAGES)
    with pytest.raises(llm.LLMError):
        stream()


def test_the_breaker_opens_after_repeated_failures_and_skips_the_model(fake_openai, settings):
    settings.LLM_BREAKER_THRESHOLD = 2
    fake_openai.default = Status(400)
    for _ in range(2):
        with pytest.raises(llm.LLMError):
            llm.chat(MESSAGES)
    assert llm.breaker_is_open()
    fake_openai.default = Reply("fine again")
    with pytest.raises(llm.LLMUnavailable):
        llm.chat(MESSAGES)
    with pytest.raises(llm.LLMUnavailable):
        stream()
    assert len(fake_openai.chat_requests()) == 2
    llm.breaker_reset()
    assert llm.chat(MESSAGES) == "fine again"


def test_a_success_resets_the_failure_count(fake_openai, settings):
    settings.LLM_BREAKER_THRESHOLD = 2
    fake_openai.script(Status(400), Reply("ok"), Status(400))
    with pytest.raises(llm.LLMError):
        llm.chat(MESSAGES)
    llm.chat(MESSAGES)
    with pytest.raises(llm.LLMError):
        llm.chat(MESSAGES)
    assert not llm.breaker_is_open()


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["correct", "feedback"],
    "properties": {"correct": {"type": "boolean"}, "feedback": {"type": "string"}},
}


def test_structured_output_sends_the_schema_and_parses_the_answer(fake_openai):
    fake_openai.default = JSONReply({"correct": True, "feedback": "Yes."})
    assert llm.structured(MESSAGES, name="grade", schema=SCHEMA) == {"correct": True, "feedback": "Yes."}
    response_format = fake_openai.chat_requests()[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"] == SCHEMA
    assert response_format["json_schema"]["name"] == "grade"


def test_structured_output_of_the_wrong_shape_is_rejected(fake_openai):
    fake_openai.default = JSONReply({"correct": "maybe"})
    with pytest.raises(llm.LLMBadResponse):
        llm.structured(MESSAGES, name="grade", schema=SCHEMA)
    fake_openai.default = Reply("Sure! Here is the JSON you asked for")
    with pytest.raises(llm.LLMBadResponse):
        asyncio.run(llm.astructured(MESSAGES, name="grade", schema=SCHEMA))


def test_without_a_configured_model_nothing_is_called(settings):
    settings.LLM_ENABLED = False
    assert not llm.llm_enabled()
    with pytest.raises(llm.LLMUnavailable):
        llm.chat(MESSAGES)


def test_the_fake_server_serves_embeddings_and_models(fake_openai):
    client = llm.sync_client()
    assert [m.id for m in client.models.list().data] == ["fake-model"]
    vectors = client.embeddings.create(model="fake-embed", input=["a", "b", "a"]).data
    assert len(vectors[0].embedding) == 384
    assert vectors[0].embedding == vectors[2].embedding != vectors[1].embedding


# Structured output against servers that take different response formats.

REFUSES_JSON_SCHEMA = Status(500, "Input should be 'text' or 'json_object' (body.response_format.type)")


def test_a_server_refusing_json_schema_is_asked_in_json_mode_and_remembered(fake_openai):
    fake_openai.script(REFUSES_JSON_SCHEMA, JSONReply({"correct": True, "feedback": "Yes."}))
    fake_openai.default = JSONReply({"correct": False, "feedback": "No."})
    assert llm.structured(MESSAGES, name="grade", schema=SCHEMA) == {"correct": True, "feedback": "Yes."}
    assert llm.structured(MESSAGES, name="grade", schema=SCHEMA)["correct"] is False
    sent = [request.get("response_format", {}).get("type") for request in fake_openai.chat_requests()]
    # The refusal is not retried, and the next call goes straight to the mode that worked.
    assert sent == ["json_schema", "json_object", "json_object"]
    assert fake_openai.chat_requests()[1]["response_format"]["schema"] == SCHEMA
    assert llm.structured_mode() == "json_object"
    assert not llm.breaker_is_open()


def test_refusals_never_open_the_breaker(fake_openai, settings):
    settings.LLM_BREAKER_THRESHOLD = 2
    for _ in range(3):
        llm.structured_mode_forget()
        fake_openai.script(REFUSES_JSON_SCHEMA, JSONReply({"correct": True, "feedback": "Yes."}))
        llm.structured(MESSAGES, name="grade", schema=SCHEMA)
    assert not llm.breaker_is_open()


def test_a_server_with_no_json_mode_gets_the_schema_in_the_prompt_and_its_reply_repaired(fake_openai):
    fake_openai.script(
        REFUSES_JSON_SCHEMA,
        Status(400, "response_format json_object is not supported"),
        Reply('Sure! Here it is:\n```json\n{"correct": true, "feedback": “Yes.”,}\n```'),
    )
    assert llm.structured(MESSAGES, name="grade", schema=SCHEMA) == {"correct": True, "feedback": "Yes."}
    last = fake_openai.chat_requests()[-1]
    assert "response_format" not in last
    assert '"required": ["correct", "feedback"]' in last["messages"][0]["content"]
    assert llm.structured_mode() == "prompt"


def test_a_reply_that_fails_the_schema_is_asked_again_once_with_the_reason(fake_openai):
    fake_openai.script(
        JSONReply({"correct": "maybe", "feedback": "?"}), JSONReply({"correct": True, "feedback": "Ok."})
    )
    assert llm.structured(MESSAGES, name="grade", schema=SCHEMA) == {"correct": True, "feedback": "Ok."}
    retry = fake_openai.chat_requests()[-1]["messages"]
    assert "$.correct should be boolean" in retry[-1]["content"]
    assert retry[-2] == {"role": "assistant", "content": '{"correct": "maybe", "feedback": "?"}'}


def test_a_reply_cut_off_by_the_token_limit_is_closed_and_still_checked():
    schema = {
        "type": "object",
        "required": ["options"],
        "properties": {"options": {"type": "array", "items": {"type": "string"}, "maxItems": 4}},
    }
    assert llm.parse_structured('{"options": ["a", "b", "c', schema) == {"options": ["a", "b", "c"]}
    with pytest.raises(llm.LLMBadResponse, match="more than 4"):
        llm.parse_structured('{"options": ["a", "b", "c", "d", "e"]}', schema)
    with pytest.raises(llm.LLMBadResponse, match="above the maximum"):
        llm.parse_structured('{"n": 8}', {"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}}})


def test_the_detailed_healthz_shows_the_structured_output_mode(fake_openai, admin_client):
    fake_openai.script(REFUSES_JSON_SCHEMA, JSONReply({"correct": True, "feedback": "Yes."}))
    assert admin_client.get("/healthz").json()["llm"]["structured_output"] == "not negotiated yet"
    llm.structured(MESSAGES, name="grade", schema=SCHEMA)
    assert admin_client.get("/healthz").json()["llm"] == {
        "mode": "openai-compatible",
        "model": "fake-model",
        "structured_output": "json_object",
    }


# The model's context.


def test_the_context_is_read_from_llama_cpps_props_once(fake_openai):
    fake_openai.context_tokens = 2048
    assert llm.context_tokens() == 2048
    assert llm.context_tokens() == 2048
    assert [r["path"] for r in fake_openai.requests].count("/props") == 1, "remembered, not asked every time"


def test_the_context_is_read_from_vllms_model_list(fake_openai):
    fake_openai.context_tokens, fake_openai.flavour = 8192, "vllm"
    assert llm.context_tokens() == 8192


def test_the_setting_wins_and_a_server_that_says_nothing_gets_a_small_default(fake_openai, settings):
    fake_openai.context_tokens, fake_openai.flavour = 2048, "llama-cpp-python"
    assert llm.context_tokens() == llm.DEFAULT_CONTEXT_TOKENS == 4096
    llm.context_forget()
    settings.LLM_CONTEXT_TOKENS = 1024
    assert llm.context_tokens() == 1024
    assert llm.reply_room(1500) == 1024 // 3, "a small context keeps room for the prompt"


def test_a_refusal_for_length_is_no_outage_and_teaches_the_real_context(fake_openai, settings):
    # llama-cpp-python's server never says its context, and its tokenizer counts Chinese about twice as high.
    fake_openai.context_tokens, fake_openai.flavour, fake_openai.token_ratio = 2048, "llama-cpp-python", 2.0
    long = [{"role": "user", "content": "注意力让每个词元关注其他词元。" * 150}]
    assert llm.fits(long, max_tokens=300), "by the 4096 we assume, it fits"
    for _ in range(settings.LLM_BREAKER_THRESHOLD + 1):
        with pytest.raises(llm.LLMContextExceeded, match="maximum context length is 2048"):
            llm.chat(long, max_tokens=300)
    assert not llm.breaker_is_open()
    assert len(fake_openai.chat_requests()) == settings.LLM_BREAKER_THRESHOLD + 1, "never retried as it stands"
    assert llm.context_tokens() == 2048
    assert llm.count_ratio() >= 2.0
    assert not llm.fits(long, max_tokens=300)
    fitting = [{"role": "user", "content": "注意力让每个词元关注其他词元。" * 10}]
    assert llm.fits(fitting, max_tokens=300)
    fake_openai.default = Reply("It fits.")
    assert llm.chat(fitting, max_tokens=300) == "It fits."


def test_a_streamed_request_refused_for_length_does_not_trip_the_breaker(fake_openai, settings):
    fake_openai.context_tokens = 300
    long = [{"role": "user", "content": "Attention lets every token look at the others. " * 200}]
    for _ in range(settings.LLM_BREAKER_THRESHOLD + 1):
        with pytest.raises(llm.LLMContextExceeded, match="exceeds the available context size"):
            stream(long)
    assert not llm.breaker_is_open()

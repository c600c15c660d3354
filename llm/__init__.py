"""The one way Primer talks to a language model: OpenAI, vLLM or Ollama through the `openai` SDK.

Every caller (the tutor, question generation, free-text grading) goes through `chat`, `achat`,
`astream_chat` or `structured`; embeddings come from `llm.embeddings.get_embedder()` and prompt sizes
from `llm.tokens`. The chat calls share:

- timeouts: a connect timeout and a total deadline per call (httpx's own timeouts are per read, so
  a model trickling one token a second would never trip them; the deadline is ours);
- retries with exponential backoff on 429, 5xx, timeouts and dropped connections only; any other
  4xx is our mistake and fails at once. The SDK's own retries are off so there is one policy;
- a circuit breaker kept in the cache (Redis), so every web and worker process sees the same state:
  after `LLM_BREAKER_THRESHOLD` consecutive failed calls nobody calls the model for
  `LLM_BREAKER_COOLDOWN_SECONDS`, and callers fall back to their offline path at once.

Callers catch `LLMError` and degrade; nothing here ever decides what the learner sees.
"""

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator

import openai
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_FAILURES_KEY = "llm:breaker:failures"
_OPEN_KEY = "llm:breaker:open"


class LLMError(Exception):
    """The model could not give a usable answer; the caller should use its offline path."""


class LLMUnavailable(LLMError):
    """No model is configured, or the circuit breaker is open."""


class LLMBadResponse(LLMError):
    """The model answered, but with something we cannot use (empty, not JSON, wrong shape)."""


def llm_enabled() -> bool:
    return bool(settings.LLM_ENABLED)


def _setting(name: str, default):
    return getattr(settings, name, default)


def _timeout() -> openai.Timeout:
    total = settings.LLM_TIMEOUT_SECONDS
    return openai.Timeout(total, connect=settings.LLM_CONNECT_TIMEOUT_SECONDS)


def _client_options() -> dict:
    return {
        "base_url": settings.LLM_BASE_URL or None,
        # Self-hosted servers (vLLM, Ollama) accept any key, but the SDK insists on one.
        "api_key": settings.LLM_API_KEY or "not-needed",
        "timeout": _timeout(),
        "max_retries": 0,
    }


def sync_client() -> openai.OpenAI:
    return openai.OpenAI(**_client_options())


def async_client() -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(**_client_options())


def is_retryable(error: BaseException) -> bool:
    """429, 5xx, timeouts and dropped connections are worth another try; other 4xx never get better."""
    if isinstance(error, (openai.APITimeoutError, openai.APIConnectionError, TimeoutError)):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return False


def backoff_seconds(attempt: int) -> float:
    """0.5 s, 1 s, 2 s, … (scaled by LLM_RETRY_BACKOFF_SECONDS) with a little jitter so retries spread out."""
    base = _setting("LLM_RETRY_BACKOFF_SECONDS", 0.5)
    return base * (2 ** attempt) * (1 + random.random() * 0.1)


def _attempts() -> int:
    return max(1, int(_setting("LLM_MAX_ATTEMPTS", 3)))


# The circuit breaker. A failed *call* (after its retries) counts once; any success resets the count.

def breaker_is_open() -> bool:
    return bool(cache.get(_OPEN_KEY))


def breaker_record_success() -> None:
    cache.delete(_FAILURES_KEY)


def breaker_record_failure() -> None:
    cooldown = _setting("LLM_BREAKER_COOLDOWN_SECONDS", 60)
    cache.add(_FAILURES_KEY, 0, timeout=cooldown * 10)
    failures = cache.incr(_FAILURES_KEY)
    if failures >= _setting("LLM_BREAKER_THRESHOLD", 3):
        logger.warning("LLM circuit breaker opens for %s s after %s failed calls", cooldown, failures)
        cache.set(_OPEN_KEY, True, timeout=cooldown)
        cache.delete(_FAILURES_KEY)


def breaker_reset() -> None:
    cache.delete_many([_FAILURES_KEY, _OPEN_KEY])


def _check_available() -> None:
    if not llm_enabled():
        raise LLMUnavailable("no language model is configured")
    if breaker_is_open():
        raise LLMUnavailable("the language model failed repeatedly; waiting before trying again")


def _content(response) -> str:
    try:
        text = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError) as error:
        raise LLMBadResponse(f"the model's response has no message: {error}") from error
    if not isinstance(text, str) or not text.strip():
        raise LLMBadResponse("the model returned an empty message")
    return text


def _request(messages: list[dict], *, max_tokens: int | None, temperature: float, response_format: dict | None) -> dict:
    request = {"model": settings.LLM_MODEL, "messages": messages, "temperature": temperature}
    if max_tokens:
        request["max_tokens"] = max_tokens
    if response_format:
        request["response_format"] = response_format
    return request


def chat(messages: list[dict], *, max_tokens: int | None = None, temperature: float = 0.2,
         response_format: dict | None = None) -> str:
    """One chat completion from a worker or a command (sync). Raises LLMError when it cannot."""
    _check_available()
    request = _request(messages, max_tokens=max_tokens, temperature=temperature, response_format=response_format)
    client = sync_client()
    deadline = time.monotonic() + settings.LLM_TIMEOUT_SECONDS
    for attempt in range(_attempts()):
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the language model's time ran out")
            text = _content(client.with_options(timeout=openai.Timeout(
                remaining, connect=settings.LLM_CONNECT_TIMEOUT_SECONDS)).chat.completions.create(**request))
            breaker_record_success()
            return text
        except LLMBadResponse:
            breaker_record_failure()
            raise
        except Exception as error:  # noqa: BLE001 -- the SDK raises many kinds; sorted by is_retryable
            last = attempt == _attempts() - 1 or time.monotonic() + backoff_seconds(attempt) >= deadline
            if not is_retryable(error) or last:
                breaker_record_failure()
                raise LLMError(f"the language model failed: {error!r}") from error
            time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")


async def achat(messages: list[dict], *, max_tokens: int | None = None, temperature: float = 0.2,
                response_format: dict | None = None) -> str:
    """`chat` for async views (the follow-up rewriter, the streaming tutor's helpers)."""
    chunks = []
    async for piece in astream_chat(messages, max_tokens=max_tokens, temperature=temperature,
                                    response_format=response_format, stream=False):
        chunks.append(piece)
    return "".join(chunks)


async def astream_chat(messages: list[dict], *, max_tokens: int | None = None, temperature: float = 0.2,
                       response_format: dict | None = None, stream: bool = True) -> AsyncIterator[str]:
    """Yield the answer's text as the model writes it.

    Retries happen only before the first piece is yielded: once the learner has seen words, a
    retry would repeat them, so a failure mid-answer raises LLMError and the caller falls back.
    The whole call, including waiting between pieces, must finish within LLM_TIMEOUT_SECONDS.
    """
    await asyncio.to_thread(_check_available)
    request = _request(messages, max_tokens=max_tokens, temperature=temperature, response_format=response_format)
    client = async_client()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.LLM_TIMEOUT_SECONDS
    yielded = False
    try:
        for attempt in range(_attempts()):
            try:
                # Time limits wrap each await, never a `yield`: a timeout firing while the caller
                # holds the generator suspended would cancel the caller instead.
                async with asyncio.timeout_at(deadline):
                    response = await client.chat.completions.create(**request, stream=stream)
                if not stream:
                    yielded = True
                    yield _content(response)
                else:
                    events = aiter(response)
                    while True:
                        try:
                            async with asyncio.timeout_at(deadline):
                                event = await anext(events)
                        except StopAsyncIteration:
                            break
                        choices = getattr(event, "choices", None) or []
                        piece = getattr(getattr(choices[0], "delta", None), "content", None) if choices else None
                        if piece:
                            yielded = True
                            yield piece
                    if not yielded:
                        raise LLMBadResponse("the model streamed no text")
                await asyncio.to_thread(breaker_record_success)
                return
            except LLMBadResponse:
                raise
            except Exception as error:  # noqa: BLE001 -- sorted by is_retryable
                if isinstance(error, (json.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError)):
                    raise LLMBadResponse(f"the model's response could not be read: {error!r}") from error
                last = attempt == _attempts() - 1 or loop.time() + backoff_seconds(attempt) >= deadline
                if yielded or not is_retryable(error) or last:
                    raise LLMError(f"the language model failed: {error!r}") from error
                await asyncio.sleep(backoff_seconds(attempt))
    except LLMError:
        await asyncio.to_thread(breaker_record_failure)
        raise
    finally:
        await client.close()


def json_schema_format(name: str, schema: dict) -> dict:
    """The `response_format` asking for JSON that follows `schema` (OpenAI structured outputs; vLLM and
    Ollama accept the same shape)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _check_shape(value, schema: dict, path: str = "$") -> None:
    """The parts of JSON Schema our schemas use: type, required, properties, items, enum."""
    expected = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}
    if expected in types and (not isinstance(value, types[expected])
                              or (expected in {"integer", "number"} and isinstance(value, bool))):
        raise LLMBadResponse(f"{path} should be {expected}, not {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise LLMBadResponse(f"{path} is {value!r}, not one of {schema['enum']}")
    if expected == "object":
        for key in schema.get("required", []):
            if key not in value:
                raise LLMBadResponse(f"{path} lacks {key!r}")
        for key, subschema in schema.get("properties", {}).items():
            if key in value:
                _check_shape(value[key], subschema, f"{path}.{key}")
    if expected == "array" and "items" in schema:
        for index, item in enumerate(value):
            _check_shape(item, schema["items"], f"{path}[{index}]")


def parse_structured(text: str, schema: dict) -> dict:
    """The model's JSON, checked against the schema; LLMBadResponse when it is not."""
    cleaned = text.strip()
    # Some self-hosted models wrap JSON in a Markdown fence even when asked not to.
    if cleaned.startswith("```"):
        cleaned = cleaned.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(cleaned)
    except json.JSONDecodeError as error:
        raise LLMBadResponse(f"the model did not return JSON: {error}") from error
    _check_shape(value, schema)
    return value


def structured(messages: list[dict], *, name: str, schema: dict, max_tokens: int | None = None,
               temperature: float = 0.0) -> dict:
    """A chat completion constrained to `schema`, parsed and checked (sync, for Celery tasks).

    Example: structured([{"role": "user", "content": "…"}], name="grade",
                        schema={"type": "object", "properties": {"correct": {"type": "boolean"}},
                                "required": ["correct"], "additionalProperties": False})
    """
    text = chat(messages, max_tokens=max_tokens, temperature=temperature,
                response_format=json_schema_format(name, schema))
    try:
        return parse_structured(text, schema)
    except LLMBadResponse:
        breaker_record_failure()
        raise


async def astructured(messages: list[dict], *, name: str, schema: dict, max_tokens: int | None = None,
                      temperature: float = 0.0) -> dict:
    text = await achat(messages, max_tokens=max_tokens, temperature=temperature,
                       response_format=json_schema_format(name, schema))
    try:
        return parse_structured(text, schema)
    except LLMBadResponse:
        await asyncio.to_thread(breaker_record_failure)
        raise

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

Callers fit their prompts to the model's context (`context_tokens`, `prompt_room`, `reply_room`); a server
that still refuses a request as too long raises `LLMContextExceeded`, which teaches us its real context and
is no outage, so it never counts towards the breaker.

Callers catch `LLMError` and degrade; nothing here ever decides what the learner sees.
"""

import asyncio
import json
import logging
import random
import re
import time
import urllib.request
from collections.abc import AsyncIterator

import openai
from django.conf import settings
from django.core.cache import cache

from .tokens import count_messages

logger = logging.getLogger(__name__)

_FAILURES_KEY = "llm:breaker:failures"
_OPEN_KEY = "llm:breaker:open"


class LLMError(Exception):
    """The model could not give a usable answer; the caller should use its offline path."""


class LLMUnavailable(LLMError):
    """No model is configured, or the circuit breaker is open."""


class LLMBadResponse(LLMError):
    """The model answered, but with something we cannot use (empty, not JSON, wrong shape)."""


class LLMFormatUnsupported(LLMError):
    """The server refused the request's `response_format`: ask again in another structured-output mode."""


class LLMContextExceeded(LLMError):
    """The server refused the request as longer than the model's context. What it said about its context was
    remembered (`context_tokens`), so a caller can fit the prompt again and ask once more, or give up with this
    as its reason."""


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


def is_unsupported_format(error: BaseException) -> bool:
    """A refusal of `response_format` itself. Servers say it differently: OpenAI and vLLM answer 400,
    llama-cpp-python's server 500 ("Input should be 'text' or 'json_object'"), others 422. It is no outage,
    so it moves to the next structured-output mode instead of counting towards the breaker."""
    if not isinstance(error, openai.APIStatusError) or error.status_code == 429:
        return False
    text = f"{error.message} {getattr(error, 'body', '')}".lower()
    return any(word in text for word in ("response_format", "json_schema", "json_object", "grammar"))


def backoff_seconds(attempt: int) -> float:
    """0.5 s, 1 s, 2 s, … (scaled by LLM_RETRY_BACKOFF_SECONDS) with a little jitter so retries spread out."""
    base = _setting("LLM_RETRY_BACKOFF_SECONDS", 0.5)
    return base * (2**attempt) * (1 + random.random() * 0.1)


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


def chat(
    messages: list[dict],
    *,
    max_tokens: int | None = None,
    temperature: float = 0.2,
    response_format: dict | None = None,
) -> str:
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
            text = _content(
                client.with_options(
                    timeout=openai.Timeout(remaining, connect=settings.LLM_CONNECT_TIMEOUT_SECONDS)
                ).chat.completions.create(**request)
            )
            breaker_record_success()
            return text
        except LLMBadResponse:
            breaker_record_failure()
            raise
        except Exception as error:  # noqa: BLE001 -- the SDK raises many kinds; sorted by is_retryable
            if is_context_refusal(error):
                raise context_refused(error, messages) from error
            if response_format and is_unsupported_format(error):
                raise LLMFormatUnsupported(
                    f"the server refused response_format {response_format['type']}: {error!r}"[:300]
                ) from error
            last = attempt == _attempts() - 1 or time.monotonic() + backoff_seconds(attempt) >= deadline
            if not is_retryable(error) or last:
                breaker_record_failure()
                raise LLMError(f"the language model failed: {error!r}") from error
            time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")


async def achat(
    messages: list[dict],
    *,
    max_tokens: int | None = None,
    temperature: float = 0.2,
    response_format: dict | None = None,
) -> str:
    """`chat` for async views (the follow-up rewriter, the streaming tutor's helpers)."""
    chunks = []
    async for piece in astream_chat(
        messages, max_tokens=max_tokens, temperature=temperature, response_format=response_format, stream=False
    ):
        chunks.append(piece)
    return "".join(chunks)


async def astream_chat(
    messages: list[dict],
    *,
    max_tokens: int | None = None,
    temperature: float = 0.2,
    response_format: dict | None = None,
    stream: bool = True,
) -> AsyncIterator[str]:
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
                if is_context_refusal(error):
                    raise await asyncio.to_thread(context_refused, error, messages) from error
                if response_format and is_unsupported_format(error):
                    raise LLMFormatUnsupported(
                        f"the server refused response_format {response_format['type']}: {error!r}"[:300]
                    ) from error
                if isinstance(error, (json.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError)):
                    raise LLMBadResponse(f"the model's response could not be read: {error!r}") from error
                last = attempt == _attempts() - 1 or loop.time() + backoff_seconds(attempt) >= deadline
                if yielded or not is_retryable(error) or last:
                    raise LLMError(f"the language model failed: {error!r}") from error
                await asyncio.sleep(backoff_seconds(attempt))
    except (LLMFormatUnsupported, LLMContextExceeded):
        raise
    except LLMError:
        await asyncio.to_thread(breaker_record_failure)
        raise
    finally:
        await client.close()


# The model's context. Callers fit their prompts to it before sending them (question generation splits a long
# section, the tutor drops its lowest-ranked passages), so a small local model is not sent what it must refuse.
# LLM_CONTEXT_TOKENS says what it is; otherwise the server is asked once (llama.cpp's GET /props, vLLM's
# max_model_len in GET /v1/models) and the answer remembered like the structured-output mode. A refusal for
# length corrects it: the server's message says its context, and how many tokens it counted in our prompt, which
# tells how far our count (llm.tokens) runs short of its tokenizer (SmolLM2 counts Chinese about twice as high).

DEFAULT_CONTEXT_TOKENS = 4096  # servers that do not say (llama-cpp-python's, Ollama's): a common small context
OPENAI_CONTEXT_TOKENS = 128_000
CONTEXT_MARGIN = 0.9  # of the context, for the chat template's own tokens
_CONTEXT_UNKNOWN_SECONDS = 600  # a server that could not be asked is asked again after this
# How servers word a refusal for length: llama.cpp ("exceeds the available context size"), and OpenAI, vLLM and
# llama-cpp-python ("This model's maximum context length is N tokens").
CONTEXT_REFUSAL = re.compile(
    r"context[ _](?:length|size|window)|maximum context|exceed_context_size|context_length_exceeded", re.IGNORECASE
)
REFUSAL_CONTEXT = re.compile(
    r"maximum context length is (\d+)|available context size \((\d+)|context window of (\d+)|'n_ctx': (\d+)"
)
REFUSAL_PROMPT = re.compile(
    r"\((\d+) in the messages|resulted in (\d+) tokens|request \((\d+) tokens\)|'n_prompt_tokens': (\d+)"
)


def _server() -> str:
    return f"{settings.LLM_BASE_URL or 'openai'}|{settings.LLM_MODEL}"


class ServerMemory:
    """What was found out about the configured server (its base URL and model): kept in the cache, so every process
    shares it, and in this process as well, for when the cache is down."""

    def __init__(self, key: str, seconds: int = 24 * 3600):
        self.key, self.seconds = key, seconds
        self.seen: dict[str, object] = {}

    def get(self):
        server = _server()
        try:
            known = cache.get(self.key + server)
        except Exception:  # the cache being down must not stop grading or the tutor
            known = None
        return known or self.seen.get(server)

    def remember(self, value, *, seconds: int | None = None) -> None:
        server = _server()
        self.seen[server] = value
        try:
            cache.set(self.key + server, value, timeout=seconds or self.seconds)
        except Exception:
            pass

    def forget(self) -> None:
        self.seen.pop(_server(), None)
        try:
            cache.delete(self.key + _server())
        except Exception:
            pass


_contexts = ServerMemory("llm:context:")


def _context_known() -> dict:
    return _contexts.get() or {}


def context_forget() -> None:
    _contexts.forget()


def _first_number(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.search(text)
    return int(next(group for group in match.groups() if group)) if match else None


def _get_json(url: str):
    headers = {"Authorization": f"Bearer {settings.LLM_API_KEY}"} if settings.LLM_API_KEY else {}
    timeout = min(5.0, settings.LLM_TIMEOUT_SECONDS)
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        return json.loads(response.read())


def context_from_server() -> tuple[int | None, str]:
    """The context the server says it has, and where it said so; (None, "") when it does not say."""
    base = (settings.LLM_BASE_URL or "").rstrip("/")
    unanswered = (OSError, ValueError, AttributeError, TypeError)  # urllib's errors are OSErrors
    try:
        # llama.cpp's server answers /props at its root, beside /v1.
        props = _get_json(re.sub(r"/v1$", "", base) + "/props")
        tokens = (props.get("default_generation_settings") or {}).get("n_ctx") or props.get("n_ctx")
        if isinstance(tokens, int) and tokens > 0:
            return tokens, "props"
    except unanswered:
        pass
    try:
        entries = _get_json(base + "/models").get("data") or []
        lengths = {entry.get("id"): entry.get("max_model_len") for entry in entries if isinstance(entry, dict)}
        tokens = lengths.get(settings.LLM_MODEL) or next((n for n in lengths.values() if n), None)
        if isinstance(tokens, int) and tokens > 0:
            return tokens, "models"
    except unanswered:
        pass
    return None, ""


def context_tokens() -> int:
    """The model's context in tokens (prompt and reply together)."""
    known = _context_known()
    if known.get("tokens"):
        return known["tokens"]
    if settings.LLM_CONTEXT_TOKENS:
        return settings.LLM_CONTEXT_TOKENS
    if not settings.LLM_BASE_URL or "api.openai.com" in settings.LLM_BASE_URL:
        return OPENAI_CONTEXT_TOKENS
    tokens, source = context_from_server()
    if tokens:
        logger.info("the model at %s has a context of %s tokens (from %s)", _server(), tokens, source)
        _contexts.remember({**known, "tokens": tokens})
        return tokens
    _contexts.remember({**known, "tokens": DEFAULT_CONTEXT_TOKENS}, seconds=_CONTEXT_UNKNOWN_SECONDS)
    return DEFAULT_CONTEXT_TOKENS


def count_ratio() -> float:
    """How many tokens the server counts for each one llm.tokens counts, as learnt from its refusals (1 before)."""
    return _context_known().get("ratio", 1.0)


def reply_room(max_tokens: int) -> int:
    """The tokens to ask for the reply: as many as the caller wants, but no more than a third of the context, so a
    small model's context still has room for the prompt."""
    return max(1, min(max_tokens, context_tokens() // 3))


def prompt_room(reply_tokens: int) -> int:
    """How many tokens (as llm.tokens counts them) a prompt may have, leaving `reply_tokens` for the reply."""
    return max(0, int((context_tokens() * CONTEXT_MARGIN - reply_tokens) / count_ratio()))


def fits(messages: list[dict], *, max_tokens: int | None) -> bool:
    return count_messages(messages) <= prompt_room(max_tokens or 0)


def is_context_refusal(error: BaseException) -> bool:
    """A request refused as longer than the model's context (a 400, from every server Primer knows)."""
    if not isinstance(error, openai.APIStatusError) or error.status_code not in {400, 413, 422}:
        return False
    return bool(CONTEXT_REFUSAL.search(f"{error.message} {getattr(error, 'body', '')}"))


def context_refused(error: openai.APIStatusError, messages: list[dict]) -> LLMContextExceeded:
    """Learn what the refusal says (the context, and the server's count of our prompt) and return it as an error."""
    text = f"{error.message} {getattr(error, 'body', '')}"
    tokens, prompt = _first_number(REFUSAL_CONTEXT, text), _first_number(REFUSAL_PROMPT, text)
    known = {**_context_known()}
    if tokens:
        known["tokens"] = tokens
    counted = count_messages(messages)
    if prompt and counted:
        # A little more than measured: the next prompt is other text, counted a little differently.
        known["ratio"] = min(4.0, max(known.get("ratio", 1.0), prompt / counted * 1.1))
    if known:
        _contexts.remember(known)
    logger.warning(
        "%s refused a request as too long for its context (%s tokens; it counted %s in the prompt, we %s)",
        _server(),
        tokens or "?",
        prompt or "?",
        counted,
    )
    return LLMContextExceeded(f"the request is too long for the model's context: {error.message}"[:300])


# Structured output. Servers accept different subsets of `response_format`, so each server (base URL and
# model) is asked in the first mode it takes, and the answer is checked against the schema whatever the mode:
#   json_schema  OpenAI structured outputs; vLLM and Ollama accept the same shape;
#   json_object  JSON mode with the schema beside it (llama.cpp's servers turn it into a grammar);
#   prompt       no response_format: the schema goes into the prompt, and the reply is parsed and repaired.
# A reply that fails the schema gets one more try, with what was wrong told to the model.

STRUCTURED_MODES = ("json_schema", "json_object", "prompt")
_modes = ServerMemory("llm:structured-mode:")


def json_schema_format(name: str, schema: dict) -> dict:
    """The `response_format` asking for JSON that follows `schema` (OpenAI structured outputs)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def response_format_for(mode: str, name: str, schema: dict) -> dict | None:
    if mode == "json_schema":
        return json_schema_format(name, schema)
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def structured_mode() -> str | None:
    """The structured-output mode this server is known to take, or None before the first structured call."""
    return _modes.get()


def structured_mode_remember(mode: str) -> None:
    if structured_mode() != mode:
        logger.info("structured output from %s uses response mode %r", _server(), mode)
    _modes.remember(mode)


def structured_mode_forget() -> None:
    _modes.forget()


def _modes_to_try() -> list[str]:
    known = structured_mode()
    return list(STRUCTURED_MODES[STRUCTURED_MODES.index(known) :] if known in STRUCTURED_MODES else STRUCTURED_MODES)


def _with_schema_instructions(messages: list[dict], schema: dict) -> list[dict]:
    """The messages with the schema spelled out, for modes where the server does not enforce it."""
    note = (
        "Reply with one JSON object only, no prose and no Markdown fence. It must follow this JSON Schema:\n"
        + json.dumps(schema, ensure_ascii=False)
    )
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": f"{messages[0]['content']}\n\n{note}"}, *messages[1:]]
    return [{"role": "system", "content": note}, *messages]


def check_schema(value, schema: dict, path: str = "$") -> None:
    """The parts of JSON Schema Primer's schemas use: type, enum, required, properties, items, minimum/maximum,
    minItems/maxItems, minLength/maxLength. Keys a schema does not list are tolerated (and never read)."""
    expected = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}
    if expected in types and (
        not isinstance(value, types[expected]) or (expected in {"integer", "number"} and isinstance(value, bool))
    ):
        raise LLMBadResponse(f"{path} should be {expected}, not {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise LLMBadResponse(f"{path} is {value!r}, not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise LLMBadResponse(f"{path} is {value}, below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise LLMBadResponse(f"{path} is {value}, above the maximum {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise LLMBadResponse(f"{path} is shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise LLMBadResponse(f"{path} is longer than {schema['maxLength']} characters")
    if expected == "object":
        for key in schema.get("required", []):
            if key not in value:
                raise LLMBadResponse(f"{path} lacks {key!r}")
        for key, subschema in schema.get("properties", {}).items():
            if key in value:
                check_schema(value[key], subschema, f"{path}.{key}")
    if expected == "array":
        if len(value) < schema.get("minItems", 0):
            raise LLMBadResponse(f"{path} has {len(value)} items, fewer than {schema['minItems']}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise LLMBadResponse(f"{path} has {len(value)} items, more than {schema['maxItems']}")
        if "items" in schema:
            for index, item in enumerate(value):
                check_schema(item, schema["items"], f"{path}[{index}]")


def _first_json_object(text: str) -> str:
    """The first {...} in the text, closed where a reply cut off by max_tokens left it open."""
    start = text.find("{")
    if start == -1:
        raise LLMBadResponse("the model's reply holds no JSON object")
    closers, in_string, escaped = [], False, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]" and closers:
            closers.pop()
            if not closers:
                return text[start : index + 1]
    tail = text[start:].rstrip()
    if in_string:
        tail += '"'
    tail = re.sub(r",\s*$", "", tail)
    if closers and closers[-1] == "}":
        # A key whose value never came: drop it.
        tail = re.sub(r'([,{])\s*"[^"]*"\s*:?\s*$', lambda m: "{" if m.group(1) == "{" else "", tail)
    return tail + "".join(reversed(closers))


def repair_json(text: str):
    """Parse a model's JSON, forgiving what small models get wrong: prose or a fence around it, a reply cut
    off mid-object, trailing commas, typographic or single quotes. LLMBadResponse when it stays unreadable."""
    candidate = _first_json_object(text.strip())
    attempts = [candidate]
    fixed = re.sub(r",\s*([}\]])", r"\1", candidate.replace("“", '"').replace("”", '"'))
    attempts.append(fixed)
    # Single-quoted keys and strings, as Python prints a dict.
    attempts.append(re.sub(r"(?<=[{\[,:])\s*'([^'\\]*)'\s*(?=[:,}\]])", lambda m: json.dumps(m.group(1)), fixed))
    error = None
    for attempt in attempts:
        try:
            # strict=False: small models put raw newlines and tabs inside strings.
            return json.loads(attempt, strict=False)
        except json.JSONDecodeError as failure:
            error = failure
    raise LLMBadResponse(f"the model did not return readable JSON: {error}")


def parse_structured(text: str, schema: dict) -> dict:
    """The model's JSON, repaired where it can be and checked against the schema; LLMBadResponse when not."""
    value = repair_json(text)
    check_schema(value, schema)
    return value


def _retry_messages(messages: list[dict], reply: str, error: LLMError) -> list[dict]:
    return [
        *messages,
        {"role": "assistant", "content": reply[:2000]},
        {
            "role": "user",
            "content": f"That reply cannot be used: {error}. Reply again with the corrected JSON object only.",
        },
    ]


def structured(
    messages: list[dict],
    *,
    name: str,
    schema: dict,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    check: dict | None = None,
) -> dict:
    """A chat completion constrained to `schema`, parsed and checked (sync, for Celery tasks and commands).

    `check`, when given, is the schema the reply is checked against instead of `schema` (a looser one, for a
    caller that checks the parts itself and keeps what it can).

    Example: structured([{"role": "user", "content": "…"}], name="grade",
                        schema={"type": "object", "properties": {"correct": {"type": "boolean"}},
                                "required": ["correct"], "additionalProperties": False})
    """
    for mode in _modes_to_try():
        asked = messages if mode == "json_schema" else _with_schema_instructions(messages, schema)
        options = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "response_format": response_format_for(mode, name, schema),
        }
        try:
            text = chat(asked, **options)
        except LLMFormatUnsupported as refusal:
            logger.info("structured output: %s; trying the next mode", refusal)
            continue
        structured_mode_remember(mode)
        try:
            return parse_structured(text, check or schema)
        except LLMBadResponse as error:
            retry = _retry_messages(asked, text, error)
            if not fits(retry, max_tokens=max_tokens):
                # The reply and the correction would not fit beside the prompt: the server would only refuse it.
                breaker_record_failure()
                raise
            retried = chat(retry, **options)
        try:
            return parse_structured(retried, check or schema)
        except LLMBadResponse:
            breaker_record_failure()
            raise
    raise LLMBadResponse("the server accepts no structured-output mode")


async def astructured(
    messages: list[dict],
    *,
    name: str,
    schema: dict,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    check: dict | None = None,
) -> dict:
    """`structured` for async callers, negotiating the same way."""
    for mode in _modes_to_try():
        asked = messages if mode == "json_schema" else _with_schema_instructions(messages, schema)
        options = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "response_format": response_format_for(mode, name, schema),
        }
        try:
            text = await achat(asked, **options)
        except LLMFormatUnsupported as refusal:
            logger.info("structured output: %s; trying the next mode", refusal)
            continue
        await asyncio.to_thread(structured_mode_remember, mode)
        try:
            return parse_structured(text, check or schema)
        except LLMBadResponse as error:
            retry = _retry_messages(asked, text, error)
            if not await asyncio.to_thread(fits, retry, max_tokens=max_tokens):
                await asyncio.to_thread(breaker_record_failure)
                raise
            retried = await achat(retry, **options)
        try:
            return parse_structured(retried, check or schema)
        except LLMBadResponse:
            await asyncio.to_thread(breaker_record_failure)
            raise
    raise LLMBadResponse("the server accepts no structured-output mode")

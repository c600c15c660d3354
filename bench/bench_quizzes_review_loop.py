"""Answer → next card under load: 50 learners at once against the real uvicorn server, beside a bare Django view.

    .venv/bin/python -m bench.bench_quizzes_review_loop [--learners 50] [--seconds 20] [--workers 2]

Runs in a throwaway database (bench_quizzes_review) on the same PostgreSQL. Each learner is a thread with its
own session that loops: answer the shown card (htmx POST), then rate it (htmx POST that returns the next card).
The rate request is the one timed: it records the review under the card's row lock and picks the next card.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import percentile, throwaway_database

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    import requests
    from django.test import Client

    from tests.conftest import free_port, wait_for_port

    connection, drop = throwaway_database("bench_quizzes_review", "bench.review_settings")
    server = None
    try:
        cookies = seed(args.learners, Client)
        settings_dict = connection.settings_dict
        host = settings_dict["HOST"] or settings_dict["OPTIONS"].get("host", "")
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.review_settings", PYTHONPATH=str(ROOT),
                   DATABASE_URL=f"postgres://{settings_dict['USER']}@/{settings_dict['NAME']}?host={host}")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.workers), "--log-level", "warning"], cwd=ROOT, env=env)
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        time.sleep(2)

        def learner(cookie, timings, errors, deadline):
            session = requests.Session()
            session.cookies.set("sessionid", cookie)
            headers = {"HX-Request": "true"}
            page = session.get(f"{base}/today/", headers=headers).text
            headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
            while time.monotonic() < deadline:
                card = re.search(r'name="card" value="(\d+)"', page)
                shown = re.search(r'name="shown_at" value="(\d+)"', page)
                if not card:
                    errors.append("no card")
                    return
                feedback = session.post(f"{base}/today/", headers=headers, data={
                    "action": "answer", "card": card.group(1), "shown_at": shown.group(1), "answer": "token"}).text
                token = re.search(r'name="token" value="([^"]+)"', feedback).group(1)
                start = time.perf_counter()
                response = session.post(f"{base}/today/", headers=headers,
                                        data={"action": "rate", "token": token, "rating": "3"})
                timings.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    errors.append(response.status_code)
                page = response.text

        def bare(cookie, timings, errors, deadline):
            session = requests.Session()
            while time.monotonic() < deadline:
                start = time.perf_counter()
                response = session.get(f"{base}/bench/bare/")
                timings.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    errors.append(response.status_code)

        results = {}
        for name, target in (("bare view", bare), ("answer → next card", learner)):
            timings, errors = [], []
            deadline = time.monotonic() + args.seconds
            threads = [threading.Thread(target=target, args=(cookie, timings, errors, deadline)) for cookie in cookies]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            results[name] = {"requests": len(timings), "errors": len(errors),
                             "throughput_rps": round(len(timings) / elapsed, 1),
                             "p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 95), 1)}
            print(name, results[name], flush=True)
        ratio = results["answer → next card"]["throughput_rps"] / results["bare view"]["throughput_rps"]
        print(f"review loop throughput is {ratio:.0%} of the bare view's "
              f"(each loop also makes an untimed answer request)", flush=True)
        return results
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        drop()


def seed(learners: int, Client) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from content.models import Course, Lesson, Section, Source
    from quizzes.models import Card, Question
    from quizzes.services import review_settings_update

    course = Course.objects.create(slug="bench", title="Bench")
    source = Source.objects.create(course=course, name="bench.md", content_hash="x")
    lesson = Lesson.objects.create(course=course, source=source, slug="bench", language="en", title="Bench")
    section = Section.objects.create(lesson=lesson, position=0, heading="Bench", anchor="bench", body="token")
    questions = Question.objects.bulk_create([
        Question(type="cloze", prompt=f"Question {i}: ____", answer="token", origin="rule", status="approved",
                 section=section) for i in range(300)])
    cookies = []
    now = timezone.now()
    for n in range(learners):
        user = get_user_model().objects.create_user(username=f"learner{n}@bench", email=f"learner{n}@bench")
        review_settings_update(user=user, new_per_day=10_000)
        Card.objects.bulk_create([Card(user=user, question=q, due=now) for q in questions])
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return cookies


if __name__ == "__main__":
    main(sys.argv[1:])

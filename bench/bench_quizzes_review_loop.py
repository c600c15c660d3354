"""Answer → next card under load: 50 learners at once against the real uvicorn server, beside a bare Django view.

    .venv/bin/python -m bench.bench_quizzes_review_loop [--learners 50] [--seconds 20] [--workers 2]

Runs in a throwaway database (bench_quizzes_review) on the same PostgreSQL. The load comes from `wrk` (Debian's
package: `apt-get install -y wrk`), written in C, so it leaves the two cores to the server; a Python client with
threads took more CPU than the server it measured. Each wrk connection is one learner with its own session,
looping through the Today page's steps: answer the shown card (htmx POST), then rate it (htmx POST that records
the review and returns the next card). The throughput compared is ratings per second; the bare view's is
requests per second, in the same run, with the same connections.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
CSRF = "b" * 32  # any 32-character cookie is a valid CSRF secret; sent back as the header it passes the check

LEARNER_LUA = r"""
local cookies = %(cookies)s
local threads, next_id = {}, 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  headers = {["Cookie"] = "sessionid=" .. cookies[id] .. "; csrftoken=%(csrf)s", ["X-CSRFToken"] = "%(csrf)s",
             ["HX-Request"] = "true", ["Content-Type"] = "application/x-www-form-urlencoded"}
  phase, body, rates, errors = "show", nil, 0, 0
end
function request()
  if phase == "show" then return wrk.format("GET", "/today/", headers) end
  if phase == "answer" then return wrk.format("POST", "/today/answer/", headers, body) end
  return wrk.format("POST", "/today/rate/", headers, body)
end
local function field(text, name)
  return string.match(text, 'name="' .. name .. '" value="([^"]*)"')
end
function response(status, _, text)
  if status ~= 200 then errors = errors + 1 end
  if phase == "rate" then rates = rates + 1 end
  local token = field(text, "token")
  if token then
    phase, body = "rate", "rating=3&token=" .. token
  elseif field(text, "card") then
    phase = "answer"
    body = "answer=token&card=" .. field(text, "card") .. "&shown_at=" .. field(text, "shown_at")
           .. "&showing=" .. field(text, "showing")
  else
    phase = "show"
  end
end
function done(summary, latency, requests)
  local total_rates, total_errors = 0, 0
  for _, thread in ipairs(threads) do
    total_rates = total_rates + thread:get("rates")
    total_errors = total_errors + thread:get("errors")
  end
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f\n", total_rates, total_errors, summary.requests,
                         latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""
BARE_LUA = r"""
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f\n", summary.requests, summary.errors.status,
                         summary.requests, latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


def wrk(base: str, path: str, script: str, *, connections: int, seconds: float) -> dict:
    """Run wrk with one thread per connection (so each learner keeps its own state in the script)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    started = time.monotonic()
    process = subprocess.Popen(
        [
            "wrk",
            "-t",
            str(connections),
            "-c",
            str(connections),
            "-d",
            f"{round(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            base + path,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _, _, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    os.unlink(handle.name)
    line = next((line for line in output.splitlines() if line.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    counted, errors, requests, p50, p95 = line.split()[1:]
    return {
        "counted": int(counted),
        "errors": int(errors),
        "requests": int(requests),
        "throughput_rps": round(int(counted) / seconds, 1),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        # The load generator's share of the machine's CPU time while it ran.
        "load_generator_cpu": round((usage.ru_utime + usage.ru_stime) / (elapsed * os.cpu_count()), 3),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from django.test import Client

    from tests.conftest import free_port, wait_for_port

    connection, drop = throwaway_database("bench_quizzes_review", "bench.review_settings")
    server = None
    try:
        cookies = seed(args.learners, Client)
        settings_dict = connection.settings_dict
        host = settings_dict["HOST"] or settings_dict["OPTIONS"].get("host", "")
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="bench.review_settings",
            PYTHONPATH=str(ROOT),
            DATABASE_URL=f"postgres://{settings_dict['USER']}@/{settings_dict['NAME']}?host={host}",
        )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        time.sleep(2)
        learner_lua = LEARNER_LUA % {"cookies": "{" + ", ".join(json.dumps(c) for c in cookies) + "}", "csrf": CSRF}
        results = {
            "bare view": wrk(base, "/bench/bare/", BARE_LUA, connections=args.learners, seconds=args.seconds),
            "rating → next card": wrk(base, "/today/", learner_lua, connections=args.learners, seconds=args.seconds),
        }
        for name, result in results.items():
            print(name, result, flush=True)
        ratio = results["rating → next card"]["throughput_rps"] / results["bare view"]["throughput_rps"]
        print(
            f"review loop throughput is {ratio:.0%} of the bare view's (ratings per second; each rating also "
            f"makes an answer request, the latencies are of both)",
            flush=True,
        )
        print(
            "load generator CPU share: "
            + ", ".join(f"{name} {result['load_generator_cpu']:.0%}" for name, result in results.items()),
            flush=True,
        )
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
    questions = Question.objects.bulk_create(
        [
            Question(
                type="cloze",
                prompt=f"Question {i}: ____",
                answer="token",
                origin="rule",
                status="approved",
                section=section,
            )
            for i in range(300)
        ]
    )
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

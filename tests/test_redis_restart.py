"""Redis killed and started again: the worker reconnects and goes on taking jobs, and a job queued before Redis
was killed is still there when it comes back (the embedded Redis keeps an append-only file, as production's)."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from config.embedded import redis_server_command
from content.models import Course, IngestionJob
from content.tasks import ingestion_job_run
from tests.conftest import (
    celery_connected_to,
    free_port,
    job_finished,
    prefork_worker,
    process_env,
    wait_for_port,
    worker_kill,
)


class OwnRedis:
    """A Redis started as the embedded one is, on a port and directory of this test's own."""

    def __init__(self, directory: Path):
        self.port, self.directory = free_port(), directory
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(redis_server_command(self.port, self.directory), check=True)
        wait_for_port(self.port)

    def kill(self) -> None:
        os.kill(int((self.directory / "redis.pid").read_text()), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)):
                    return
            time.sleep(0.05)
        raise AssertionError("Redis is still answering")


@pytest.fixture
def own_redis(tmp_path):
    redis = OwnRedis(tmp_path / "redis")
    redis.directory.mkdir()
    redis.start()
    yield redis
    try:
        redis.kill()
    except (ProcessLookupError, FileNotFoundError):
        pass


@pytest.mark.django_db(transaction=True)
def test_the_worker_reconnects_after_redis_restarts_and_a_queued_job_survives_redis_being_killed(own_redis, tmp_path):
    from config.celery_app import app

    course = Course.objects.create(slug="uploads", title="Uploads")
    jobs = []
    for name in ("first", "after-restart", "queued-while-killed"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text("1 Tokens\n" + f"A token is a piece of text a model reads ({name}). " * 6)
        jobs.append(IngestionJob.objects.create(course=course, folder=str(folder)))

    env = process_env(REDIS_URL=own_redis.url, TEST_REDIS_URL=own_redis.url)
    with celery_connected_to(app, own_redis.url):
        worker = prefork_worker(env)
        try:
            ingestion_job_run.delay(jobs[0].id)
            assert job_finished(jobs[0]).status == IngestionJob.Status.DONE
            own_redis.kill()
            own_redis.start()
            ingestion_job_run.delay(jobs[1].id)  # this process's broker connection died too: it reconnects
            assert job_finished(jobs[1]).status == IngestionJob.Status.DONE, (
                "the worker took a job after Redis came back"
            )
        finally:
            worker_kill(worker)

        ingestion_job_run.delay(jobs[2].id)  # no worker now: the message waits in Redis
        time.sleep(1.5)  # the append-only file is written to disk every second
        own_redis.kill()
        own_redis.start()
        worker = prefork_worker(env)
        try:
            assert job_finished(jobs[2]).status == IngestionJob.Status.DONE, (
                "the queued job outlived Redis being killed"
            )
        finally:
            worker_kill(worker)

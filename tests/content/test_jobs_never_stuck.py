"""Ingestion jobs finish or fail with a reason: a worker killed mid-job, a lost message, a job out of time."""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from content import services
from content.models import Course, IngestionJob, Lesson
from tests.conftest import job_finished, prefork_worker, worker_kill

TEXT = "1 Tokens\n" + "A token is the smallest piece of text a language model reads and writes at each step. " * 8


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="carol@example.com", email="carol@example.com", password="pw-carol-123", is_staff=True
    )


def wait_for(job: IngestionJob, statuses, timeout: float = 180) -> IngestionJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job is still {job.status}")


def upload(client, staff, count: int = 3, repeat: int = 30) -> IngestionJob:
    client.force_login(staff)
    client.post(
        reverse("content_upload"),
        {
            "new_course_slug": "uploads",
            "new_course_title": "Uploads",
            "files": [
                SimpleUploadedFile(f"notes-{i}.txt", (f"{TEXT} Note {i}. " * repeat).encode()) for i in range(count)
            ],
        },
    )
    return IngestionJob.objects.get()


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_child_is_killed_is_delivered_again_and_finishes(client, staff):
    from config.celery_app import app

    app.control.purge()
    worker = prefork_worker()
    try:
        job = wait_for(upload(client, staff), {IngestionJob.Status.RUNNING})
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        os.kill(int(children[0]), signal.SIGKILL)  # the pool child running the job dies mid-job
        job = job_finished(job)
    finally:
        worker_kill(worker)
    assert job.status == IngestionJob.Status.DONE, job.error
    assert job.attempts == 2, "the redelivered message took its own job back"
    assert Lesson.objects.filter(course__slug="uploads").count() == 3
    # The worker removes the files just after it marks the job done: give it that moment.
    deadline = time.monotonic() + 30
    while Path(job.folder).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(job.folder).exists(), "the uploaded files go once they are in the database"


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_died_for_good_is_reaped_and_run_by_the_next_worker(client, staff):
    from config.celery_app import app

    app.control.purge()
    worker = prefork_worker()
    job = wait_for(upload(client, staff), {IngestionJob.Status.RUNNING})
    worker_kill(worker)  # the whole worker, SIGKILLed: its message waits unacknowledged for an hour
    job.refresh_from_db()
    assert job.status == IngestionJob.Status.RUNNING
    assert services.ingestion_jobs_reap() == {"resent": 0, "requeued": 0, "failed": 0}, "not stalled yet"
    later = timezone.now() + timedelta(minutes=10)
    assert services.ingestion_jobs_reap(now=later)["requeued"] == 1
    worker = prefork_worker()
    try:
        job = job_finished(job)
    finally:
        worker_kill(worker)
    assert job.status == IngestionJob.Status.DONE, job.error


@pytest.mark.django_db(transaction=True)
def test_a_job_out_of_time_fails_with_the_reason_and_its_retry_runs_the_same_files(client, staff, settings):
    from config.celery_app import app

    app.control.purge()
    # The limits travel in the message, from the process that queues the job (here, the upload page's): a worker
    # started with other limits obeys the message's. The prefork pool is the one that enforces them.
    settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT = 0.5, 60
    # Enough small files that ingesting them takes longer than half a second (more than one upload may hold).
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 200
    worker = prefork_worker()
    try:
        job = job_finished(upload(client, staff, count=99))
    finally:
        worker_kill(worker)
    assert job.status == IngestionJob.Status.FAILED
    assert "longer than the 0.5 s" in job.error
    assert job.files_done < 99, "it stopped part-way"
    page = client.get(reverse("content_upload_job", args=[job.id]), headers={"HX-Request": "true"}).text
    assert "hx-trigger" not in page, "the page stops polling"
    assert "Try these files again" in page
    response = client.post(reverse("content_upload_job_retry", args=[job.id]))
    retry = IngestionJob.objects.exclude(id=job.id).get()
    assert response.url == reverse("content_upload_job", args=[retry.id])
    assert retry.folder == job.folder and len(list(Path(retry.folder).iterdir())) == 99, "the same files, kept"


@pytest.mark.django_db
def test_the_reaper_resends_a_lost_message_and_fails_a_job_that_kept_dying(staff, tmp_path):
    course = Course.objects.create(slug="uploads", title="Uploads")
    old = timezone.now() - timedelta(hours=1)
    lost = IngestionJob.objects.create(course=course, folder=str(tmp_path), last_progress_at=old)
    dying = IngestionJob.objects.create(
        course=course, folder=str(tmp_path), status=IngestionJob.Status.RUNNING, attempts=3, last_progress_at=old
    )
    assert services.ingestion_jobs_reap() == {"resent": 1, "requeued": 0, "failed": 1}
    lost.refresh_from_db()
    dying.refresh_from_db()
    assert lost.status == IngestionJob.Status.QUEUED and lost.last_progress_at > old
    assert dying.status == IngestionJob.Status.FAILED and "stopped 3 times" in dying.error
    assert services.ingestion_jobs_reap() == {"resent": 0, "requeued": 0, "failed": 0}

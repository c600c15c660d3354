import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from content.models import IngestionJob, Lesson

TEXT = "1 词元\n" + "词元是语言模型读写的最小单位,模型每一步预测下一个词元的概率分布。" * 6


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="carol@example.com", email="carol@example.com", password="pw-carol-123", is_staff=True
    )


def test_an_upload_is_ingested_by_the_worker_and_the_status_row_shows_the_report(client, staff, celery_worker_process):
    client.force_login(staff)
    response = client.post(
        reverse("content_upload"),
        {
            "new_course_slug": "uploads",
            "new_course_title": "Uploads",
            "files": [
                SimpleUploadedFile("tokens.txt", TEXT.encode("gbk")),
                SimpleUploadedFile("broken.pdf", b"%PDF-1.4 nonsense"),
            ],
        },
    )
    job = IngestionJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("content_upload_job", args=[job.id])

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            break
        time.sleep(0.5)
    assert job.status == IngestionJob.Status.DONE, job.error
    assert job.files_done == job.files_total == 2
    statuses = {f["name"]: f["status"] for f in job.report["files"]}
    assert statuses == {"tokens.txt": "ingested", "broken.pdf": "failed"}
    assert Lesson.objects.filter(course__slug="uploads").count() == 1

    fragment = client.get(reverse("content_upload_job", args=[job.id]), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="job-status"' in fragment and "hx-trigger" not in fragment and "broken.pdf" in fragment

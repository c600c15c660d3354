"""Issue 10 item 10: the upload page refuses files over the size limits with a clear message and queues nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from content.models import IngestionJob

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_user(
            username="carol@example.com", email="carol@example.com", password="pw-carol-123", is_staff=True
        )
    )
    return client


def post(client, *files):
    return client.post(
        reverse("content_upload"), {"new_course_slug": "uploads", "new_course_title": "Uploads", "files": list(files)}
    )


def test_a_file_over_the_per_file_limit_is_refused_by_name(staff_client, settings):
    settings.UPLOAD_FILE_MAX_MB = 1
    response = post(
        staff_client, SimpleUploadedFile("small.txt", b"a" * 1000), SimpleUploadedFile("huge.txt", b"a" * (MB + 1))
    )
    assert response.status_code == 200
    assert "Each file may be at most 1 MB; too large: huge.txt." in response.text
    assert not IngestionJob.objects.exists()


def test_files_over_the_per_upload_limit_together_are_refused(staff_client, settings):
    settings.UPLOAD_FILE_MAX_MB, settings.UPLOAD_TOTAL_MAX_MB = 1, 1
    response = post(staff_client, *[SimpleUploadedFile(f"part{i}.txt", b"a" * (MB // 2)) for i in range(3)])
    assert "One upload may be at most 1 MB in all" in response.text
    assert not IngestionJob.objects.exists()


def test_the_default_limit_is_twenty_megabytes_per_file(staff_client):
    response = post(staff_client, SimpleUploadedFile("big.txt", b"a" * (20 * MB + 1)))
    assert "at most 20 MB" in response.text and not IngestionJob.objects.exists()

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import services
from .models import IngestionJob


@shared_task(acks_late=True)
def ingestion_job_run(job_id: int) -> None:
    """Claim the job (queued → running), ingest its folder, and record progress and the per-file report."""
    claimed = IngestionJob.objects.filter(id=job_id, status=IngestionJob.Status.QUEUED).update(
        status=IngestionJob.Status.RUNNING)
    if not claimed:
        return  # another worker has it, or it already ran: a re-delivered message is a no-op
    job = IngestionJob.objects.select_related("course").get(id=job_id)

    def progress(done: int, total: int, name: str) -> None:
        IngestionJob.objects.filter(id=job_id).update(files_done=done, files_total=total, current_file=name[:300])

    try:
        report = services.paths_ingest(course=job.course, paths=[job.folder], progress=progress)
    except Exception as error:
        IngestionJob.objects.filter(id=job_id).update(status=IngestionJob.Status.FAILED, error=str(error)[:2000],
                                                      finished_at=timezone.now())
        raise
    with transaction.atomic():
        IngestionJob.objects.filter(id=job_id).update(status=IngestionJob.Status.DONE, report=report.as_json(),
                                                      current_file="", finished_at=timezone.now())

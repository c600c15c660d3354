from celery import shared_task

from . import services


# acks_late with reject_on_worker_lost: a worker killed mid-job leaves the message to be delivered again, and
# the run takes its own job back (services.ingestion_job_run); a worker lost for good is the reaper's case.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def ingestion_job_run(self, job_id: int) -> None:
    _, soft_time_limit = self.request.timelimit or (None, None)
    services.ingestion_job_run(job_id=job_id, run_id=self.request.id or "", soft_time_limit=soft_time_limit)


@shared_task(acks_late=True)
def ingestion_jobs_reap() -> dict:
    return services.ingestion_jobs_reap()

from celery import shared_task
from celery.signals import worker_ready

from . import services


@shared_task(acks_late=True)
def pending_tasks_send() -> int:
    """Every minute (beat): send the messages the broker refused while it was down."""
    return services.pending_tasks_send()


@worker_ready.connect
def pending_tasks_send_at_start(**kwargs) -> None:
    # A worker that starts has a broker: send what waited, without waiting for the next beat.
    from django.db import DatabaseError

    try:
        services.pending_tasks_send()
    except DatabaseError:
        pass

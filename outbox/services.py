import logging

from celery import current_app
from django.db import transaction

from .models import PendingTask

logger = logging.getLogger(__name__)


def send_on_commit(task, *args) -> None:
    """Queue `task(*args)` once this transaction commits; a broker that is down never fails the request."""
    name, values = task.name, list(args)
    transaction.on_commit(lambda: task_send(name=name, args=values))


def task_send(*, name: str, args: list) -> bool:
    """Send now; when the broker refuses, keep the message in PostgreSQL for pending_tasks_send."""
    try:
        current_app.tasks[name].apply_async(args=args)
        return True
    except Exception as error:  # noqa: BLE001 -- kombu, redis and socket errors alike: the message is kept, not lost
        logger.warning(
            "could not queue %s%s (%s); it is kept and sent when the broker answers", name, tuple(args), error
        )
        PendingTask.objects.create(name=name, args=args, last_error=str(error)[:500])
        return False


def pending_tasks_send(*, limit: int = 500) -> int:
    """Send the kept messages, oldest first; each row is locked so two senders never send one twice."""
    sent = 0
    for _ in range(limit):
        with transaction.atomic():
            row = PendingTask.objects.select_for_update(skip_locked=True).order_by("id").first()
            if row is None:
                break
            try:
                current_app.tasks[row.name].apply_async(args=row.args)
            except Exception as error:  # noqa: BLE001 -- still down: keep it for the next round
                PendingTask.objects.filter(id=row.id).update(attempts=row.attempts + 1, last_error=str(error)[:500])
                break
            row.delete()
            sent += 1
    return sent

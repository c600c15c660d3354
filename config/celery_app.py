import os

from celery import Celery
from celery.signals import worker_process_init
from django.db.backends.postgresql.base import DatabaseWrapper

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("primer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def database_pool_forget_parents(**kwargs):
    # A forked worker child inherits the parent's connection pool without its threads or its own sockets;
    # forget it so the child opens a pool of its own on first use.
    DatabaseWrapper._connection_pools.clear()


@app.task(name="primer.ping")
def ping() -> str:
    """Round-trips through the broker and the result backend: used by tests and /healthz checks."""
    return "pong"

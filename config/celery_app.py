import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("primer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="primer.ping")
def ping() -> str:
    """Round-trips through the broker and the result backend: used by tests and /healthz checks."""
    return "pong"

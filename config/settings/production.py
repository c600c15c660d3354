"""Production (docker-compose.yml): everything from the environment, nothing insecure by default."""

import os

from django.core.exceptions import ImproperlyConfigured


def _require_environment() -> None:
    """Refuse to start without the services production needs.

    Checked before base settings are imported: base starts the embedded PostgreSQL and Redis when
    DATABASE_URL or REDIS_URL is missing, which is right on a laptop and wrong on a server.
    """
    missing = [name for name in ("DATABASE_URL", "REDIS_URL", "SITE_URL", "EMAIL_URL") if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(
            f"Production needs {', '.join(missing)} in the environment (see .env.example); "
            "it never starts the embedded database or Redis."
        )
    if os.environ["EMAIL_URL"].split(":", 1)[0] not in {"smtp", "smtps", "smtp+tls", "smtp+ssl"}:
        # The console backend would print password-reset links into the logs.
        raise ImproperlyConfigured("EMAIL_URL must be an smtp:// URL in production.")


_require_environment()

from .base import *  # noqa: E402, F403
from .base import BASE_DIR, SECRET_KEY, env  # noqa: E402

if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off in production.")
if not SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of at least 32 characters.")

DEBUG = False
STATIC_ROOT = BASE_DIR / "staticfiles"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

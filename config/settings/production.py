"""Production (docker-compose.yml): everything from the environment, nothing insecure by default."""

import os
from urllib.parse import urlsplit

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
from .base import BASE_DIR, SECRET_KEY, SITE_URL, env  # noqa: E402

if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off in production.")
if not SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of at least 32 characters.")
_site = urlsplit(SITE_URL)
if _site.scheme != "https" or not _site.hostname:
    raise ImproperlyConfigured("SITE_URL must be the https:// address learners use, e.g. https://primer.example.com.")

DEBUG = False
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# The public address decides which Host headers are served and which origins may post forms (sign-in over
# https://SITE_URL passes the CSRF check; anything else is refused).
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[_site.hostname])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"{_site.scheme}://{_site.netloc}"])

# TLS ends at the reverse proxy (Caddy in docker-compose.yml). X-Forwarded-Proto is trusted because the proxy sets it
# on every request, overwriting whatever a client sent, and web is reachable only through the proxy (no published
# port; uvicorn takes forwarded headers only from the proxy's address, --forwarded-allow-ips).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The container's own health check asks over plain HTTP from inside; everything else goes to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
# Both opt-in: they bind every subdomain (and, preloaded, every browser) to HTTPS for a year.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

"""pytest: the same real PostgreSQL and Redis, a separate Redis database, fast password hashing."""

from .base import *  # noqa: F403
from .base import REDIS_URL, env

DEBUG = False
SECRET_KEY = "primer-test-secret"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

# Keep tests off the development data in Redis: database 15 (unless a test worker is told otherwise).
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default=REDIS_URL.rsplit("/", 1)[0] + "/15")
CACHES["default"]["LOCATION"] = TEST_REDIS_URL  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "primer-test"  # noqa: F405
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

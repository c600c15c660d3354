"""Development on one machine: `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="primer-local-development-only-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
WHITENOISE_USE_FINDERS = True

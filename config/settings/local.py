"""Development on one machine: `make run`."""

import os
import secrets
import time

from .base import *  # noqa: F403
from .base import BASE_DIR, env


def _install_secret() -> str:
    """A random secret made once per install under var/: a public default would let anyone forge signed links."""
    path = BASE_DIR / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when web, worker and beat start together, exactly one of them writes the secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            if secret := path.read_text().strip():
                return secret
            time.sleep(0.05)
        raise
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or _install_secret()
# Only local names: with `*`, a forged Host header would end up in password-reset links.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
WHITENOISE_USE_FINDERS = True

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.review_urls"

"""The cache backend: django-redis that keeps the site up while Redis is down.

Redis is a cache and a broker here, never the record. With it down, reads miss and writes are dropped, with one
warning a minute instead of a 500 on every page. django-redis's own IGNORE_EXCEPTIONS is not enough: it answers
`add` with None, so allauth's rate-limit lock (a `cache.add`) spins for a second and then refuses every login.
Here `add` answers True (go ahead), so anything using the cache as a lock or a limit fails open.
`cache.client.get_client()` is not covered: its callers (/healthz) handle the error themselves.
"""

import functools
import logging
import time

from django_redis.cache import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
# After a failure, skip Redis for this long: an unreachable host costs a socket timeout per call otherwise.
SKIP_SECONDS = 2.0
WARN_EVERY_SECONDS = 60.0


def _fails_open(fallback):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if time.monotonic() < self._skip_until:
                return fallback(args, kwargs)
            try:
                return method(self, *args, **kwargs)
            except (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError) as error:
                self._skip_until = time.monotonic() + SKIP_SECONDS
                if time.monotonic() >= self._warned_at + WARN_EVERY_SECONDS:
                    self._warned_at = time.monotonic()
                    logger.warning("Redis is unreachable (%s); the cache is bypassed until it answers", error)
                return fallback(args, kwargs)

        return wrapper

    return decorate


def _default(args, kwargs):
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class FailOpenRedisCache(RedisCache):
    _skip_until = 0.0
    _warned_at = -WARN_EVERY_SECONDS

    def __init__(self, server, params):
        super().__init__(server, params)
        self._ignore_exceptions = False  # this class decides what a failure returns

    get = _fails_open(_default)(RedisCache.get)
    get_many = _fails_open(lambda args, kwargs: {})(RedisCache.get_many)
    add = _fails_open(lambda args, kwargs: True)(RedisCache.add)
    set = _fails_open(lambda args, kwargs: False)(RedisCache.set)
    set_many = _fails_open(lambda args, kwargs: [])(RedisCache.set_many)
    delete = _fails_open(lambda args, kwargs: False)(RedisCache.delete)
    delete_many = _fails_open(lambda args, kwargs: 0)(RedisCache.delete_many)
    has_key = _fails_open(lambda args, kwargs: False)(RedisCache.has_key)
    touch = _fails_open(lambda args, kwargs: False)(RedisCache.touch)
    # A counter that cannot be kept counts nothing: the LLM breaker stays closed (each call still has its timeout).
    incr = _fails_open(lambda args, kwargs: 0)(RedisCache.incr)
    decr = _fails_open(lambda args, kwargs: 0)(RedisCache.decr)

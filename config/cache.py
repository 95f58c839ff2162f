"""Django's Redis cache backend, less a new redis-py client per cache call.

django.core.cache.backends.redis builds a `redis.Redis` around its connection pool on every
get, set or get_many; redis-py's constructor registers its ~170 response callbacks each time,
which cost ~400 µs of CPU — more than the rest of a read-cache hit that misses the per-process
copy (docs/benchmarks/notes.md). redis-py clients are thread-safe and hold no
connection of their own (the pool lends one per command and checks the process id after a fork),
so one client per pool serves every thread of a process. CACHE_URL=redis://… selects this backend
(config/settings.py).
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients: dict = {}  # connection pool -> its client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # (not in django-stubs)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

"""config.cache.RedisCache against the Redis server on loopback: Django's backend, one redis-py
client per connection pool instead of one per call, shared by threads and right after a fork."""

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from config.cache import RedisCache

REDIS_URL = "redis://127.0.0.1:6379/11"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    try:
        cache.set("probe", 1, 5)
    except Exception as exc:  # the suite's services include Redis (.ci/run, ENV-NOTES)
        pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc}")
    yield cache
    cache.clear()


def test_every_call_reuses_one_client_and_the_cache_works(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client and redis_cache._cache.get_client("k") is client
    redis_cache.set_many({"a": b"x" * 4096, "b": {"n": 1}}, 30)
    assert redis_cache.get_many(["a", "b", "missing"]) == {"a": b"x" * 4096, "b": {"n": 1}}
    assert redis_cache.add("a", "other", 30) is False
    assert redis_cache.add("counter", 0, 30) is True and redis_cache.incr("counter") == 1
    assert redis_cache.get("counter") == 1
    redis_cache.delete("a")
    assert redis_cache.get("a") is None


def test_threads_share_the_client(redis_cache):
    errors = []

    def work(n):
        try:
            for i in range(50):
                redis_cache.set(f"t{n}:{i}", (n, i), 30)
                assert redis_cache.get(f"t{n}:{i}") == (n, i)
        except Exception as exc:  # collected: an assertion in a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(redis_cache._cache._clients) == 1


FORK_CHECK = """
import os, sys
from django.conf import settings
settings.configure()
from config.cache import RedisCache
cache = RedisCache(sys.argv[1], {"KEY_PREFIX": sys.argv[2]})
cache.set("before-fork", "parent", 30)  # the parent's client holds a pooled connection now
pid = os.fork()
if pid == 0:
    cache.set("child", "wrote", 30)
    os._exit(0 if cache.get("before-fork") == "parent" else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert cache.get("child") == "wrote" and cache.get("before-fork") == "parent"
cache.clear()
"""


def test_a_forked_child_gets_its_own_connections():
    # In a single-threaded process of its own: forking pytest (threads) could deadlock the child.
    prefix = f"test-{uuid.uuid4().hex}"
    result = subprocess.run(
        [sys.executable, "-c", FORK_CHECK, REDIS_URL, prefix], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

"""Settings come from the environment, with a safe embedded default (SPEC §1, §9)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'options': s.DATABASES['default'].get('OPTIONS', {}), 'cache': s.CACHES['default']['BACKEND'], "
    "'replica': 'replica' in s.DATABASES, 'objects': 'objects' in s.STORAGES}))"
)


def _run(env: dict, code: str = PRINT_SETTINGS) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "CACHE", "DEBUG", "SECRET", "OBJECT"))}
    # PACKYARD_ENV_FILE="" keeps a developer's .env out of these runs.
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", "PACKYARD_TESTING": "0", "PACKYARD_ENV_FILE": ""}, **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_embedded_default_is_sqlite_locmem_and_local_files():
    result = _run({"SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["engine"] == "django.db.backends.sqlite3"
    assert out["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert out["replica"] is False and out["objects"] is False
    assert out["debug"] is False


def test_secret_key_is_required_outside_debug():
    result = _run({})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_mysql_url_gets_utf8mb4_strict_mode_and_read_committed():
    result = _run(
        {
            "SECRET_KEY": "x" * 50,
            "DATABASE_URL": "mysql://u:p@db.example:3306/packyard",
            "DATABASE_REPLICA_URL": "mysql://u:p@replica.example:3306/packyard",
            "CACHE_URL": "redis://127.0.0.1:6379/0",
            "OBJECT_STORAGE_BUCKET": "stickers",
        }
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["engine"] == "django.db.backends.mysql"
    assert out["options"]["charset"] == "utf8mb4"
    assert out["options"]["isolation_level"] == "read committed"
    assert "STRICT_TRANS_TABLES" in out["options"]["init_command"]
    assert out["cache"] == "config.cache.RedisCache"  # one redis-py client per pool
    assert out["replica"] is True and out["objects"] is True


PRINT_OBJECT_STORAGE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "o = s.STORAGES['objects']['OPTIONS']; c = o['client_config']; "
    "print(json.dumps({'ttl': s.OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS, 'expire': o['querystring_expire'], "
    "'custom_domain': o.get('custom_domain'), 'location': o['location'], 'signature': c.signature_version, "
    "'addressing': c.s3['addressing_style'], 'endpoint': o['endpoint_url'], 'cdn': s.CDN_BASE_URL, "
    "'img_src': s.SECURE_CSP['img-src']}))"
)


def test_object_storage_settings_clamp_the_ttl_and_never_sign_for_the_cdn_host():
    base = {
        "SECRET_KEY": "x" * 50,
        "OBJECT_STORAGE_BUCKET": "stickers",
        "OBJECT_STORAGE_ENDPOINT_URL": "http://127.0.0.1:9000",
        "OBJECT_STORAGE_PATH_STYLE": "true",
        "CDN_BASE_URL": "https://cdn.example.com/",
    }
    for raw, expected in (("5", 30), ("300", 300), ("999999", 21600)):
        result = _run({**base, "OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS": raw}, PRINT_OBJECT_STORAGE)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["ttl"] == out["expire"] == expected
    # SigV4 binds the host: signed URLs always point at the store, the CDN gets plain URLs only.
    assert out["custom_domain"] is None and out["cdn"] == "https://cdn.example.com"
    assert out["signature"] == "s3v4" and out["addressing"] == "path" and out["location"] == "stickers/"
    assert out["endpoint"] == "http://127.0.0.1:9000"
    # Pages may show the images both redirects lead to (issue 19's CSP, issue 11's store and CDN).
    assert {"http://127.0.0.1:9000", "https://cdn.example.com"} <= set(out["img_src"])

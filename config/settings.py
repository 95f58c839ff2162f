"""Packyard settings: the only settings module.

Every difference between environments is an environment variable (see .env.example).
With no environment at all it runs embedded: SQLite, local file storage, local-memory cache.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from pythonjsonlogger.core import RESERVED_ATTRS

from config.env import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=False)
# Under pytest the suite supplies its own throwaway secret and test databases.
TESTING = env.bool("PACKYARD_TESTING", default=False) or "pytest" in sys.modules

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-dev-only-key-packyard-change-me-0123456789abcdef"
    else:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused CSRF check answers JSON under /api (SPEC §3), Django's page elsewhere.
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "flags",
    "workers",
    "outbox",
    "catalog",
    "ops",
]

MIDDLEWARE = [
    # Probes and cookie-less anonymous catalog reads are answered here, before everything else
    # (config/front.py); the rest passes through.
    "config.front.FrontMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First of ours: it times and counts every response, those the read cache answers included.
    "config.middleware.HttpMetricsMiddleware",
    "config.middleware.RequestIdMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    # Security headers (HSTS, nosniff, CSP) wrap the anonymous read cache, so cached answers carry them too.
    "django.middleware.security.SecurityMiddleware",
    # Static files (after `collectstatic`) straight from the web process, before sessions and auth.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "catalog.api.cache.ViewerCacheControlMiddleware",
    "catalog.api.cache.AnonymousReadCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "catalog.viewer_cookie.ViewerCookieMiddleware",
    # Last: it turns a login lockout flagged by the authentication backend into a 429.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",  # {{ csp_nonce }} for the rare inline <script>
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Embedded default: a SQLite file. Production: DATABASE_URL=mysql://user:pass@host/db.


def _database(url_var: str, default: str | None) -> dict:
    db = env.db_url(url_var, default=default)
    if db["ENGINE"] == "django.db.backends.mysql":
        db.setdefault("OPTIONS", {})
        db["OPTIONS"].update(
            {
                "charset": "utf8mb4",
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO'",
                # Queue claims rely on READ COMMITTED + SKIP LOCKED (no gap locks).
                "isolation_level": "read committed",
            }
        )
        db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("OPTIONS", {})
        # WAL + IMMEDIATE transactions make concurrent writers wait instead of failing.
        db["OPTIONS"].update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    db["CONN_HEALTH_CHECKS"] = True
    return db


DATABASES = {"default": _database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if TESTING and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:), unique per test run, so worker subprocesses can open the test DB.
    import tempfile

    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"packyard-test-{os.getpid()}.sqlite3")}
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = _database("DATABASE_REPLICA_URL", None)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://packyard"),
    # Per-process, for copies that may be a second old (catalog.api.cache).
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "packyard-local"},
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"  # one redis-py client per pool (config/cache.py)
# Throttle counters live apart from cached reads, so no flood of reads can evict them: the shared
# cache (Redis) under its own prefix in production; embedded, a local-memory cache of its own, large
# enough not to cull under load (an entry is ~100 bytes: 200,000 of them are ~20 MB).
if env.str("CACHE_URL", default=""):
    CACHES["throttle"] = {**CACHES["default"], "KEY_PREFIX": "throttle"}
else:
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "packyard-throttle",
        "OPTIONS": {"MAX_ENTRIES": env.int("THROTTLE_LOCAL_MAX_ENTRIES", default=200_000)},
    }

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The web pages' session login (catalog.urls); the admin keeps its own login page.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/my/"
LOGOUT_REDIRECT_URL = "/"
# django-axes: failed logins (the admin's and POST /api/auth/token's) are counted per network
# identity and per username; either one over the limit locks out until the cool-off ends or staff
# delete the lockout in the admin ("Access attempts").
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "config.client.network_identity"
AXES_USERNAME_CALLABLE = "config.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # more failures do not keep someone else locked out forever
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded (no personal data kept for them)
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = env.str("STATIC_URL", default="/static/")
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# --- Object storage (SPEC §7) ---------------------------------------------------------
OBJECT_STORAGE_BUCKET = env.str("OBJECT_STORAGE_BUCKET", default="")
# Lifetime of presigned GET URLs, clamped to 30 s .. 6 h.
OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS = min(
    21600, max(30, env.int("OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS", default=300))
)
# Read timeout of one store request (connect: at most 3 s); two attempts per operation.
OBJECT_STORAGE_TIMEOUT_SECONDS = env.float("OBJECT_STORAGE_TIMEOUT_SECONDS", default=5.0)
# The store is probed (HEAD bucket) when its health state is older than this; a failed operation
# marks it down at once. Delivery redirects only while it is up, so a dead store is noticed within
# this many seconds (plus one probe timeout) and stickers are served from local bytes meanwhile.
OBJECT_STORAGE_HEALTH_CHECK_SECONDS = env.int("OBJECT_STORAGE_HEALTH_CHECK_SECONDS", default=10)
# Attempts of one write-through or delete task (backoff: WORKER_RETRY_*); the sweep below picks up
# anything a dead-lettered task left unsynced.
OBJECT_STORAGE_TASK_MAX_ATTEMPTS = env.int("OBJECT_STORAGE_TASK_MAX_ATTEMPTS", default=25)
# Periodic write-through sweep: unsynced assets of admitted owners (0 = off).
OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS = env.int("OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS", default=300)
OBJECT_STORAGE_SYNC_SWEEP_BATCH = env.int("OBJECT_STORAGE_SYNC_SWEEP_BATCH", default=500)
# Plain (unsigned, cacheable) URLs for safe stickers of listed packs, e.g. https://cdn.example.com
CDN_BASE_URL = env.str("CDN_BASE_URL", default="").rstrip("/")

STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Gzipped copies made by collectstatic, served by WhiteNoise (no manifest, so it runs without collectstatic).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if OBJECT_STORAGE_BUCKET:
    from config.objectstorage import s3_storage

    STORAGES["objects"] = s3_storage(
        bucket=OBJECT_STORAGE_BUCKET,
        endpoint_url=env.str("OBJECT_STORAGE_ENDPOINT_URL", default=""),
        region=env.str("OBJECT_STORAGE_REGION", default="us-east-1"),
        access_key=env.str("OBJECT_STORAGE_ACCESS_KEY_ID", default=""),
        secret_key=env.str("OBJECT_STORAGE_SECRET_ACCESS_KEY", default=""),
        path_style=env.bool("OBJECT_STORAGE_PATH_STYLE", default=False),
        key_prefix=env.str("OBJECT_STORAGE_KEY_PREFIX", default="stickers/"),
        signed_url_ttl=OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS,
        timeout_seconds=OBJECT_STORAGE_TIMEOUT_SECONDS,
    )

# How long caches may keep sticker bytes (SPEC §3; docs/api.md "Caching and moderation").
# Stickers classified safe in listed, non-sensitive packs: any cache, `immutable`, this long (also
# the Cache-Control of objects behind CDN_BASE_URL). A staff mark on such a pack reaches caches
# within this many seconds.
STICKER_SAFE_CACHE_SECONDS = env.int("STICKER_SAFE_CACHE_SECONDS", default=86400)
# Everything else (unclassified, NSFW, sensitive, unlisted): the viewer's browser only, this long;
# also the max-age of redirects (kept below the signed URL's lifetime).
STICKER_PRIVATE_CACHE_SECONDS = env.int("STICKER_PRIVATE_CACHE_SECONDS", default=60)

# --- DRF / OpenAPI --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request to an owner endpoint gets 401 + WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "catalog.api.openapi.CatalogAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "catalog.api.exceptions.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["catalog.api.parsers.BoundedJSONParser"],
    # Trusted reverse proxies in front of the web processes (config.client): 0 = X-Forwarded-For is
    # never read. Behind one nginx that appends $remote_addr: 1.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "engagement": env.str("THROTTLE_ENGAGEMENT_RATE", default="120/min"),
        "upload": env.str("THROTTLE_UPLOAD_RATE", default="60/min"),
        "auth": env.str("THROTTLE_AUTH_RATE", default="20/min"),
        "auth_username": env.str("THROTTLE_AUTH_USERNAME_RATE", default="10/min"),
        "viewer_key": env.str("THROTTLE_VIEWER_KEY_RATE", default="30/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Packyard API",
    "DESCRIPTION": "Sticker-pack catalog: public reads, engagement, owner uploads.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "catalog.api.openapi.postprocess"],
}

# --- Catalog tunables (SPEC §2) -------------------------------------------------------
STICKER_PACK_MAX_ITEMS = 30  # also a database check constraint on item position
STICKER_PACK_MAX_PACKS_PER_OWNER = env.int("STICKER_PACK_MAX_PACKS_PER_OWNER", default=50)
STICKER_UPLOAD_SOURCE_MAX_BYTES = env.int("STICKER_UPLOAD_SOURCE_MAX_BYTES", default=20 * 1024 * 1024)
SNAPSHOT_MAX_STALENESS_SECONDS = env.int("SNAPSHOT_MAX_STALENESS_SECONDS", default=900)
ENGAGEMENT_DEDUPE_WINDOW_SECONDS = env.int("ENGAGEMENT_DEDUPE_WINDOW_SECONDS", default=3600)
# Per network identity (config.client.network_identity: the client address, IPv6 by /64), over the
# last 24 hours: counted anonymous likes+dislikes per pack and over all packs, opens and downloads
# likewise. Beyond a cap the request still answers 200 and the interaction is kept as suppressed.
ENGAGEMENT_ANON_PER_NETWORK_PER_PACK = env.int("ENGAGEMENT_ANON_PER_NETWORK_PER_PACK", default=3)
ENGAGEMENT_ANON_PER_NETWORK_PER_DAY = env.int("ENGAGEMENT_ANON_PER_NETWORK_PER_DAY", default=200)
ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_PACK = env.int("ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_PACK", default=20)
ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_DAY = env.int("ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_DAY", default=2000)
ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_PACK = env.int("ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_PACK", default=10)
ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_DAY = env.int("ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_DAY", default=500)
# The signed anonymous viewer id (catalog.services.viewers): its cookie, set by the pages and the
# first engagement; non-browser clients get one from POST /api/viewer-key and send X-Viewer-Key.
VIEWER_COOKIE_NAME = env.str("VIEWER_COOKIE_NAME", default="packyard_viewer")
VIEWER_COOKIE_MAX_AGE_SECONDS = env.int("VIEWER_COOKIE_MAX_AGE_SECONDS", default=365 * 24 * 3600)
SNAPSHOT_SWEEP_CADENCE_SECONDS = env.int("SNAPSHOT_SWEEP_CADENCE_SECONDS", default=600)
SNAPSHOT_REFRESH_COALESCE_SECONDS = env.int("SNAPSHOT_REFRESH_COALESCE_SECONDS", default=10)
# New classifications within this window queue one extra curation cycle (besides its cadence).
CURATION_COALESCE_SECONDS = env.int("CURATION_COALESCE_SECONDS", default=60)
# Weights of pack_score (SPEC §2.2); keys: confidence, engagement, quality, diversity, duplicate.
RANKING_WEIGHTS = env.json("RANKING_WEIGHTS", default={})
MARKETPLACE_STATS_CACHE_SECONDS = env.int("MARKETPLACE_STATS_CACHE_SECONDS", default=60)
# Anonymous GETs of lists, details and aggregates are cached this long in the shared cache (0 = off).
API_ANONYMOUS_CACHE_SECONDS = env.int("API_ANONYMOUS_CACHE_SECONDS", default=5)
# A pack detail is cached longer: every change to it moves its generation (catalog.services.readcache).
API_ANONYMOUS_DETAIL_CACHE_SECONDS = env.int("API_ANONYMOUS_DETAIL_CACHE_SECONDS", default=300)
# A per-process copy in front of the shared cache for this long (0 = off): changes show within it.
API_ANONYMOUS_LOCAL_SECONDS = env.int("API_ANONYMOUS_LOCAL_SECONDS", default=1)
# What browsers and shared caches downstream may keep of those anonymous reads: max-age (at most
# the server's own lifetime) plus stale-while-revalidate. An unpublished, deleted or newly
# sensitive pack disappears downstream within the sum (60 s by default).
API_ANONYMOUS_DOWNSTREAM_SECONDS = env.int("API_ANONYMOUS_DOWNSTREAM_SECONDS", default=30)
API_ANONYMOUS_STALE_SECONDS = env.int("API_ANONYMOUS_STALE_SECONDS", default=30)
# One renderer per expired read-cache entry (catalog.api.front): its marker lives at most this
# long; other requests answer the expired entry meanwhile, or wait this long for the new one.
API_FRONT_RENDER_LOCK_SECONDS = env.int("API_FRONT_RENDER_LOCK_SECONDS", default=5)
API_FRONT_WAIT_MILLISECONDS = env.int("API_FRONT_WAIT_MILLISECONDS", default=300)
# How long the WSGI front (config.replay) remembers that a request shape is a read-cache slot or a
# probe, and answers it below Django (0 = off: everything goes through Django).
API_FRONT_SHAPE_SECONDS = env.int("API_FRONT_SHAPE_SECONDS", default=60)
# /readyz runs its checks at most once per this many seconds per process and answers the last
# result in between (0 = check on every request); the checks are never skipped.
PROBE_CACHE_SECONDS = env.int("PROBE_CACHE_SECONDS", default=2)
# Assets no pack holds are deleted (bytes and object) by `prune_history` after this many days
# (0 = never).
ORPHAN_ASSET_RETENTION_DAYS = env.int("ORPHAN_ASSET_RETENTION_DAYS", default=30)
# Stored bytes no asset row uses (a failed upload) are deleted by prune_history after this (0 = never).
ORPHAN_BYTES_GRACE_SECONDS = env.int("ORPHAN_BYTES_GRACE_SECONDS", default=86400)
STICKER_UPLOAD_MAX_DIMENSION = env.int("STICKER_UPLOAD_MAX_DIMENSION", default=4096)
STICKER_UPLOAD_MAX_WEBP_DIMENSION = env.int("STICKER_UPLOAD_MAX_WEBP_DIMENSION", default=2048)
STICKER_UPLOAD_MAX_FRAMES = env.int("STICKER_UPLOAD_MAX_FRAMES", default=240)
# Pixels decoded across all frames of one pass over an animation (frames x width x height): 100
# frames of 1024x1024, 240 of 660x660, 6 of 4096x4096. Bounds the work an upload can ask for
# (bench/upload_memory_bench.py measures the worst accepted inputs).
STICKER_UPLOAD_MAX_TOTAL_PIXELS = env.int("STICKER_UPLOAD_MAX_TOTAL_PIXELS", default=100 * 1024 * 1024)
# Wall-clock budget of one conversion; over it: 422 IMAGE_TOO_COMPLEX.
STICKER_UPLOAD_CONVERT_MAX_SECONDS = env.float("STICKER_UPLOAD_CONVERT_MAX_SECONDS", default=15.0)
WHATSAPP_BOT_PHONE = env.str("WHATSAPP_BOT_PHONE", default="")
WHATSAPP_MESSAGE_TEMPLATE = env.str("WHATSAPP_MESSAGE_TEMPLATE", default="/pack send {{pack_key}}")
SUPPORT_WHATSAPP_PHONE = env.str("SUPPORT_WHATSAPP_PHONE", default=WHATSAPP_BOT_PHONE)
SUPPORT_WHATSAPP_TEXT = env.str("SUPPORT_WHATSAPP_TEXT", default="Hello! I need help with Packyard.")
AUTO_PACK_PUBLISHER = env.str("AUTO_PACK_PUBLISHER", default="Packyard")
# The account that owns the [AUTO] packs (created inactive, with no usable password): its creator
# profile is verified and holds AUTO_PACK_PUBLISHER as a reserved publisher name.
SYSTEM_ACCOUNT_USERNAME = env.str("SYSTEM_ACCOUNT_USERNAME", default="packyard-system")
CLASSIFIER_PROVIDER = env.str("CLASSIFIER_PROVIDER", default="builtin")
CLASSIFIER_HTTP_URL = env.str("CLASSIFIER_HTTP_URL", default="")
CLASSIFIER_HTTP_TIMEOUT_SECONDS = env.float("CLASSIFIER_HTTP_TIMEOUT_SECONDS", default=5.0)
CLASSIFIER_HTTP_RETRIES = env.int("CLASSIFIER_HTTP_RETRIES", default=2)
# Changing it changes classification_version, so every asset is classified again.
CLASSIFIER_VERSION_SUFFIX = env.str("CLASSIFIER_VERSION_SUFFIX", default="")
# "auto": the built-in classifier scores nudity with NudeNet when requirements-nsfw.txt is installed; "off": never.
CLASSIFIER_NSFW_MODEL = env.str("CLASSIFIER_NSFW_MODEL", default="auto")
CLASSIFICATION_BATCH_SIZE = env.int("CLASSIFICATION_BATCH_SIZE", default=200)
CURATION_ADD_BUDGET = env.int("CURATION_ADD_BUDGET", default=600)
REBUILD_REMOVE_BUDGET = env.int("REBUILD_REMOVE_BUDGET", default=600)
CURATION_NEAR_DUPLICATE_BITS = env.int("CURATION_NEAR_DUPLICATE_BITS", default=6)
AUTO_PACK_LOCK_TTL_SECONDS = env.int("AUTO_PACK_LOCK_TTL_SECONDS", default=900)
# Non-file request bodies over 2.5 MB are refused (413); uploads are checked against
# STICKER_UPLOAD_SOURCE_MAX_BYTES and spill to a temporary file above 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Fields and files one form body (or query string) may carry; more: 400 TOO_MANY_FIELDS (JSON under /api).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# Whole request bodies (multipart included) above this are refused with 413 before parsing.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=STICKER_UPLOAD_SOURCE_MAX_BYTES + 1024 * 1024)

# --- Feature flags (SPEC §4) ----------------------------------------------------------
FEATURE_FLAG_CACHE_TTL_SECONDS = max(5, env.int("FEATURE_FLAG_CACHE_TTL_SECONDS", default=30))

# --- Queue, outbox and workers (SPEC §5) ----------------------------------------------
WORKER_SHUTDOWN_GRACE_SECONDS = env.int("WORKER_SHUTDOWN_GRACE_SECONDS", default=30)
WORKER_LEASE_SECONDS = env.int("WORKER_LEASE_SECONDS", default=60)
WORKER_TASK_TIME_LIMIT_SECONDS = env.int("WORKER_TASK_TIME_LIMIT_SECONDS", default=600)
WORKER_RETRY_BASE_SECONDS = env.float("WORKER_RETRY_BASE_SECONDS", default=2.0)
WORKER_RETRY_CAP_SECONDS = env.float("WORKER_RETRY_CAP_SECONDS", default=600.0)
WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS = env.int("WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS", default=120)
WORKER_CURATION_CYCLE_CADENCE_SECONDS = env.int("WORKER_CURATION_CYCLE_CADENCE_SECONDS", default=180)
WORKER_REBUILD_CYCLE_CADENCE_SECONDS = env.int("WORKER_REBUILD_CYCLE_CADENCE_SECONDS", default=240)
TASK_RUN_RETENTION_DAYS = env.int("TASK_RUN_RETENTION_DAYS", default=90)
# Extra modules run_worker imports at start (they register task types), e.g. for tests.
WORKER_EXTRA_TASK_MODULES = env.list("WORKER_EXTRA_TASK_MODULES", default=[])

# Django's Tasks API (`@task`, `.enqueue()`) on the queue above (workers.backends, docs/tasks.md).
# Each queue name is a worker group: `run_worker --task-type <queue>` serves it, `all` takes every
# queue that dedicated workers do not. PERIODIC: {"module.task": seconds or a setting's name}.
TASKS = {
    "default": {
        "BACKEND": "workers.backends.QueueBackend",
        "QUEUES": env.list("TASKS_QUEUES", default=["default"]),
        "OPTIONS": {"PERIODIC": env.json("TASKS_PERIODIC", default={})},
    }
}

# --- Outbox relay to RabbitMQ (SPEC §5.2; docs/events.md) ------------------------------
# amqp://user:pass@host:5672/vhost turns the relay on: every process that publishes events (web and
# workers, not only `run_outbox_relay`) must see it, because the relay's delivery row is written with
# the event. Empty: off, and no delivery rows are written.
OUTBOX_RELAY_URL = env.str("OUTBOX_RELAY_URL", default="")
OUTBOX_RELAY_EXCHANGE = env.str("OUTBOX_RELAY_EXCHANGE", default="packyard.events")
# A publish the broker has not confirmed within this long counts as failed (retried with backoff).
OUTBOX_RELAY_CONFIRM_TIMEOUT_SECONDS = env.float("OUTBOX_RELAY_CONFIRM_TIMEOUT_SECONDS", default=30.0)
# Reconnects back off exponentially (with jitter) up to this many seconds.
OUTBOX_RELAY_RECONNECT_MAX_SECONDS = env.float("OUTBOX_RELAY_RECONNECT_MAX_SECONDS", default=30.0)

# --- Observability (SPEC §8) ----------------------------------------------------------
HTTP_SLO_TARGET_MS = env.int("HTTP_SLO_TARGET_MS", default=750)
# /metrics answers these addresses (direct requests only, not proxied ones) or the bearer token.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
# Queue and snapshot gauges are read from the database at scrape time and kept this long in the
# shared cache, so scrapes of every process cost one read per period and report the same values.
METRICS_DB_CACHE_SECONDS = env.int("METRICS_DB_CACHE_SECONDS", default=5)

# Promotion gates of the runbook (manage.py rollout_gates, deploy/prometheus alert rules).
ROLLOUT_GATE_WINDOW_MINUTES = env.int("ROLLOUT_GATE_WINDOW_MINUTES", default=15)
ROLLOUT_GATE_MAX_ERROR_RATE = env.float("ROLLOUT_GATE_MAX_ERROR_RATE", default=0.02)
ROLLOUT_GATE_MAX_PENDING = env.int("ROLLOUT_GATE_MAX_PENDING", default=1000)
ROLLOUT_GATE_MAX_OLDEST_PENDING_SECONDS = env.int("ROLLOUT_GATE_MAX_OLDEST_PENDING_SECONDS", default=300)
ROLLOUT_GATE_MAX_DEAD_LETTER_GROWTH = env.int("ROLLOUT_GATE_MAX_DEAD_LETTER_GROWTH", default=0)
# Two sweep cadences (two staleness limits when the periodic sweep is off).
ROLLOUT_GATE_MAX_SNAPSHOT_AGE_SECONDS = env.int(
    "ROLLOUT_GATE_MAX_SNAPSHOT_AGE_SECONDS",
    default=2 * (SNAPSHOT_SWEEP_CADENCE_SECONDS or SNAPSHOT_MAX_STALENESS_SECONDS),
)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json (python-json-logger; the default when DEBUG is off) or console. Every line carries the
# request id (config.logs); worker lines about an event or task carry its id and request id.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, not {LOG_FORMAT!r}")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
            # Django attaches the request object to its request log records: not for the log.
            "reserved_attrs": [*RESERVED_ATTRS, "request", "server_time"],
        },
        "console": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    # Django's own handlers are replaced by ours: one format for every line.
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": ["stderr"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Security (manage.py check --deploy passes with production settings) --------------
# Secure by default whenever DEBUG is off; each one is an environment variable.
_SECURE_DEFAULTS = not DEBUG
# TLS ends at a proxy that sets this header ("HEADER_AS_IN_META,value"; empty = no proxy).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is 'HTTP_X_FORWARDED_PROTO,https' or empty")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
# The test suite speaks plain HTTP to its own servers.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_SECURE_DEFAULTS and not TESTING)
# Probes and scrapes reach processes directly over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_SECURE_DEFAULTS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_SECURE_DEFAULTS)
# HSTS: sent on answers to HTTPS requests (behind the proxy: SECURE_PROXY_SSL_HEADER); one year
# by default with DEBUG off, off with DEBUG on.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if _SECURE_DEFAULTS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True


# Content-Security-Policy (Django's own middleware): scripts and styles from this origin only,
# inline ones only with the response's nonce ({{ csp_nonce }}); no plugins, no framing, no <base>.
def _origin(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return f"{parts.scheme}://{parts.netloc}" if url and parts.netloc else ""


_object_storage: dict[str, Any] = STORAGES.get("objects", {}).get("OPTIONS", {})
_image_origins = [_origin(_object_storage.get("endpoint_url") or ""), _origin(CDN_BASE_URL)]
if OBJECT_STORAGE_BUCKET and not _object_storage.get("endpoint_url"):
    _image_origins.append("https://*.amazonaws.com")  # signed URLs of AWS S3 itself
# Where sticker images may come from besides this origin (signed object-storage URLs, the CDN).
CSP_IMG_SRC_EXTRA = env.list("CSP_IMG_SRC_EXTRA", default=[o for o in _image_origins if o])
CSP_REPORT_URI = env.str("CSP_REPORT_URI", default="")
# true: the policy is only reported (Content-Security-Policy-Report-Only), not enforced.
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)
_policy = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", "blob:", *CSP_IMG_SRC_EXTRA],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    **({"report-uri": CSP_REPORT_URI} if CSP_REPORT_URI else {}),
}
SECURE_CSP = {} if CSP_REPORT_ONLY else _policy
SECURE_CSP_REPORT_ONLY = _policy if CSP_REPORT_ONLY else {}

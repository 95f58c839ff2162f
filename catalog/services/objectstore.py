"""The object store (SPEC §7): every call to STORAGES["objects"] goes through here, so each one is
measured (packyard_object_storage_operations_total{operation,outcome}) and a failure feeds the
store's health state.

Health: presigning never talks to the store, so it would never notice a dead one. The state
({"up", "at", "error"}) lives in the shared cache, so every process sees what any of them
learnt: a failed operation marks the store down at once, and a state older than
OBJECT_STORAGE_HEALTH_CHECK_SECONDS is refreshed by a probe (HEAD bucket, short timeouts, one
probe at a time per process). Delivery redirects only while the state says up.
"""

import base64
import hashlib
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages

from catalog.metrics import OBJECT_STORAGE_DURATION, OBJECT_STORAGE_OPERATIONS

logger = logging.getLogger(__name__)

ALIAS = "objects"
LOCAL_PREFIX = "stickers/"  # catalog.services.assets.asset_storage_key
HEALTH_KEY = "packyard:object-storage:health"
HEALTH_MEMO_SECONDS = 1.0  # a process re-reads the shared state at most this often
PROBE_TIMEOUT_SECONDS = 2.0


class StoreUnavailable(Exception):
    """The store is not configured, or an operation on it failed."""


def configured() -> bool:
    return ALIAS in settings.STORAGES


def store():
    return storages[ALIAS]


def object_name(storage_key: str) -> str:
    """The object's name under the store's key prefix: local `stickers/ab/<sha>.webp` is stored as
    `<OBJECT_STORAGE_KEY_PREFIX>ab/<sha>.webp`."""
    return storage_key.removeprefix(LOCAL_PREFIX)


def object_key(storage_key: str) -> str:
    """The full key in the bucket (prefix included)."""
    from storages.utils import clean_name, safe_join

    return safe_join(store().location, clean_name(object_name(storage_key)))


def _client():
    return store().connection.meta.client


# --- failures and metrics ----------------------------------------------------------------------


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, FileNotFoundError) or _status(exc) == 404


def is_store_failure(exc: BaseException) -> bool:
    """True when the error says the store is unreachable or broken (not: that one key is missing)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        status = _status(exc)
        return status is None or status >= 500
    return isinstance(exc, BotoCoreError | OSError) and not isinstance(exc, FileNotFoundError)


@contextmanager
def operation(name: str):
    """Measure one store operation; a store failure marks the store down and is re-raised."""
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        outcome = "not_found" if is_not_found(exc) else "error"
        OBJECT_STORAGE_OPERATIONS.labels(name, outcome).inc()
        OBJECT_STORAGE_DURATION.labels(name).observe(time.perf_counter() - started)
        if outcome == "error" and is_store_failure(exc):
            health_record(up=False, error=f"{name}: {exc.__class__.__name__}: {exc}")
        raise
    OBJECT_STORAGE_OPERATIONS.labels(name, "ok").inc()
    OBJECT_STORAGE_DURATION.labels(name).observe(time.perf_counter() - started)


# --- operations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    checksum_sha256: str  # base64, "" when the store gives none
    encryption: str


def head(storage_key: str) -> ObjectInfo | None:
    """What the store holds under this key, or None when nothing."""
    try:
        with operation("head"):
            meta = _client().head_object(
                Bucket=store().bucket_name, Key=object_key(storage_key), ChecksumMode="ENABLED"
            )
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    return ObjectInfo(
        size=int(meta.get("ContentLength", -1)),
        etag=str(meta.get("ETag", "")).strip('"'),
        checksum_sha256=meta.get("ChecksumSHA256", "") or "",
        encryption=meta.get("ServerSideEncryption", "") or "",
    )


def put(storage_key: str, data: bytes, *, content_type: str, sha256: str) -> None:
    """Write the object; the store checks the bytes against their SHA-256 where it can."""
    with operation("put"):
        _client().put_object(
            Bucket=store().bucket_name,
            Key=object_key(storage_key),
            Body=data,
            ContentType=content_type,
            CacheControl=f"public, max-age={settings.STICKER_SAFE_CACHE_SECONDS}",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
            Metadata={"sha256": sha256},
        )


def verified(info: ObjectInfo | None, *, size: int, sha256: str, data: bytes | None) -> bool:
    """The object is these bytes: same size, and the same checksum where the store gives one
    (SHA-256; else a plain single-part MD5 ETag, compared when the bytes are at hand)."""
    if info is None or info.size != size:
        return False
    if info.checksum_sha256:
        return info.checksum_sha256 == base64.b64encode(bytes.fromhex(sha256)).decode()
    plain_md5 = len(info.etag) == 32 and "-" not in info.etag and info.encryption != "aws:kms"
    if plain_md5 and data is not None:
        return info.etag.lower() == hashlib.md5(data, usedforsecurity=False).hexdigest()
    return True


def delete(storage_key: str) -> None:
    """Delete the object (nothing there is fine)."""
    with operation("delete"):
        store().delete(object_name(storage_key))


def open_object(storage_key: str):
    """A readable file of the object's bytes (FileNotFoundError when there is none)."""
    with operation("get"):
        handle = store().open(object_name(storage_key), "rb")
        handle.file  # noqa: B018 - fetch now, so a failure is raised (and measured) here
    return handle


def signed_url(storage_key: str, *, cache_control: str) -> str:
    """A presigned GET URL on the store itself, valid OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS; the
    store answers it with `cache_control`."""
    with operation("presign"):
        return store().url(
            object_name(storage_key),
            parameters={"ResponseCacheControl": cache_control},
            expire=settings.OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS,
        )


def cdn_url(storage_key: str) -> str:
    from django.utils.encoding import filepath_to_uri

    return f"{settings.CDN_BASE_URL}/{filepath_to_uri(object_key(storage_key))}"


def bucket_check() -> None:
    """HEAD the bucket with the probe client (short timeouts); raises when it does not answer."""
    with operation("probe"):
        _probe_client().head_bucket(Bucket=store().bucket_name)


# --- health --------------------------------------------------------------------------------------

_probe_lock = threading.Lock()
_local = {"state": None, "read_at": 0.0}
_probe_clients: dict[int, object] = {}


def _probe_client():
    """A client of the same store with short timeouts and no retries, so a probe of a dead store
    ends quickly."""
    from botocore.config import Config

    backend = store()
    client = _probe_clients.get(id(backend))
    if client is None:
        import boto3

        session = (
            boto3.Session(profile_name=backend.session_profile)
            if backend.session_profile
            else boto3.Session(
                aws_access_key_id=backend.access_key,
                aws_secret_access_key=backend.secret_key,
                aws_session_token=backend.security_token,
            )
        )
        config = backend.client_config.merge(
            Config(
                connect_timeout=PROBE_TIMEOUT_SECONDS,
                read_timeout=PROBE_TIMEOUT_SECONDS,
                retries={"max_attempts": 1, "mode": "standard"},
            )
        )
        client = session.client(
            "s3",
            region_name=backend.region_name,
            endpoint_url=backend.endpoint_url,
            use_ssl=backend.use_ssl,
            verify=backend.verify,
            config=config,
        )
        _probe_clients.clear()
        _probe_clients[id(backend)] = client
    return client


def health_record(*, up: bool, error: str = "") -> dict:
    state = {"up": up, "at": time.time(), "error": error[:500]}
    if not up:
        logger.warning("object storage marked down: %s", state["error"])
    try:
        cache.set(HEALTH_KEY, state, timeout=max(60, 6 * settings.OBJECT_STORAGE_HEALTH_CHECK_SECONDS))
    except Exception:  # the state still holds in this process
        logger.warning("object storage: could not share the health state", exc_info=True)
    _local.update(state=state, read_at=time.monotonic())
    return state


def health_state() -> dict | None:
    """The last known state (shared cache, re-read at most once per HEALTH_MEMO_SECONDS)."""
    if _local["state"] is not None and time.monotonic() - _local["read_at"] < HEALTH_MEMO_SECONDS:
        return _local["state"]
    try:
        state = cache.get(HEALTH_KEY)
    except Exception:
        state = _local["state"]
    _local.update(state=state, read_at=time.monotonic())
    return state


def health_reset() -> None:
    """Forget the state in this process (tests)."""
    _local.update(state=None, read_at=0.0)
    _probe_clients.clear()


def probe() -> dict:
    try:
        bucket_check()
    except Exception as exc:
        return health_record(up=False, error=f"probe: {exc.__class__.__name__}: {exc}")
    return health_record(up=True)


def is_up() -> bool:
    """Whether the store answered lately; probes it when the state is older than
    OBJECT_STORAGE_HEALTH_CHECK_SECONDS. Unknown (another thread is probing first) counts as down."""
    if not configured():
        return False
    state = health_state()
    if state is None or time.time() - state["at"] >= settings.OBJECT_STORAGE_HEALTH_CHECK_SECONDS:
        if _probe_lock.acquire(blocking=False):
            try:
                state = probe()
            finally:
                _probe_lock.release()
        elif state is None:
            return False
    return bool(state["up"])

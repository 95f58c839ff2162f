"""Who is looking: the actor key used for engagement dedupe and flag cohorts (SPEC §3).

The key is a hash, so no address or user agent is ever stored.
"""

import hashlib
import re

_SANE_VIEWER_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def actor_key(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        raw = f"user:{user.pk}"
    elif _SANE_VIEWER_KEY.match(request.headers.get("X-Viewer-Key", "")):
        raw = f"viewer:{request.headers['X-Viewer-Key']}"
    else:
        address = request.META.get("REMOTE_ADDR", "")
        agent = request.headers.get("User-Agent", "")
        raw = f"client:{address}|{agent}"
    return hashlib.sha256(raw.encode()).hexdigest()


def session_key(request) -> str:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None) or ""
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else ""


def is_anonymous(request) -> bool:
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated

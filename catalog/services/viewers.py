"""Who is looking (SPEC §3): the actor of engagement dedupe and of flag cohorts.

The actor is the logged-in user; else the anonymous viewer id the server signed (its cookie, or
`X-Viewer-Key` from a non-browser client); else the network identity (config.client). An unsigned
or forged key is not an actor of its own: it falls back to the network identity, so inventing keys
buys nothing.

A viewer id is issued by the pages (a fresh random id) and by an engagement answer to a request
that carried none. The latter is derived from the network identity, so a client that first
engages without a cookie stays the same actor once it sends the cookie back: its first and
second click are one actor, not two.

Only hashes are stored: actor keys, and network keys (a keyed hash of the network identity, see
network_key) — never an address.
"""

import hashlib
import re
import secrets

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

from config.client import network_identity, network_of

_SALT = "packyard.viewer-id"
_SIGNED_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_ID_SHAPE = re.compile(r"^[nv][0-9a-f]{32}$")


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def sign_viewer_id(viewer_id: str) -> str:
    return _signer().sign(viewer_id)


def new_viewer_id() -> str:
    return "v" + secrets.token_hex(16)


def network_viewer_id(request) -> str:
    """The viewer id of the request's network identity (stable per network, reveals nothing)."""
    return "n" + salted_hmac(_SALT, network_identity(request), algorithm="sha256").hexdigest()[:32]


def verified_viewer_id(value: str | None) -> str | None:
    """The viewer id inside a signed value, or None when it is absent, malformed or forged."""
    if not value or not _SIGNED_SHAPE.match(value):
        return None
    try:
        viewer_id = _signer().unsign(value)
    except signing.BadSignature:
        return None
    return viewer_id if _ID_SHAPE.match(viewer_id) else None


def cookie_viewer_id(request) -> str | None:
    return verified_viewer_id(request.COOKIES.get(settings.VIEWER_COOKIE_NAME))


def presented_viewer_id(request) -> str | None:
    """The signed viewer id the request carries, if genuine: X-Viewer-Key (a client that sends it
    means it), else the cookie."""
    return verified_viewer_id(request.headers.get("X-Viewer-Key")) or cookie_viewer_id(request)


def brings_credentials(request) -> bool:
    """Whether the request could be someone: it sends an Authorization header or a session cookie.

    The half of "anonymous viewer" that is decidable before authentication, so the read cache and
    the front of the stack ask it (catalog.api.cache, catalog.api.front): a request that brings no
    credentials is anonymous; one that brings them is never answered from the anonymous cache, even
    when they turn out not to authenticate (the safe side)."""
    return "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES


def is_anonymous(request) -> bool:
    """The viewer is anonymous: nobody is logged in on this request (no credentials, or ones that
    did not authenticate). What views and services ask, after authentication; brings_credentials
    is the same rule's pre-authentication half."""
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def viewer_id(request) -> str:
    """The anonymous actor's id: the genuine signed one it presents, else its network's."""
    return presented_viewer_id(request) or network_viewer_id(request)


def actor_key(request) -> str:
    if not is_anonymous(request):
        raw = f"user:{request.user.pk}"
    else:
        raw = f"viewer:{viewer_id(request)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def network_key(request) -> str:
    """A keyed hash of the network identity: what engagement caps count by and staff see."""
    return network_key_of(network_identity(request))


def anonymous_network_key(request) -> str:
    """network_key for an anonymous request (what subjects it to the engagement caps), "" for a
    logged-in user (users are deduplicated per user; their network is not kept)."""
    return network_key(request) if is_anonymous(request) else ""


def network_key_of(address: str) -> str:
    """network_key of an address (staff look one up in the admin by typing it)."""
    # No sane address at all: every such request is one network (they share the caps).
    network = network_of(address) or "unknown"
    return salted_hmac("packyard.network", network, algorithm="sha256").hexdigest()[:32]


def session_key(request) -> str:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None) or ""
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else ""

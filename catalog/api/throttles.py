"""Throttles of the API: counters in their own cache alias ("throttle"), clients identified by the
one definition of the client's network (config.client), never by a header the client invents."""

import hashlib

from django.core.cache import caches
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from config.client import network_identity
from config.lockout import lockout_username


class ThrottleCache:
    """The "throttle" cache, looked up at use (tests and settings changes see the current one)."""

    def __get__(self, instance, owner):
        return caches["throttle"]


class NetworkScopedThrottle(ScopedRateThrottle):
    """The view's `throttle_scope`, per user when logged in, else per network identity."""

    cache = ThrottleCache()

    def get_ident(self, request):
        return network_identity(request)


class NetworkThrottle(NetworkScopedThrottle):
    """Per network identity even for logged-in requests (login and key issuing)."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UsernameThrottle(SimpleRateThrottle):
    """POST /api/auth/token per username tried (case-folded), whatever address it comes from."""

    cache = ThrottleCache()
    scope = "auth_username"

    def get_cache_key(self, request, view):
        username = lockout_username(request)
        if not username:
            return None
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(username.encode()).hexdigest()}

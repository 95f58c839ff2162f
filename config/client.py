"""Who is on the other end of a request: the one definition of the client address.

Throttles, engagement actors and caps, the admin login lockout, logs and metrics all call these
functions, so a header a client invents cannot give it a second identity anywhere.

`NUM_PROXIES` (DRF's own setting, env `NUM_PROXIES`, default 0) says how many trusted reverse
proxies stand in front of the web processes, each appending the address it saw to
`X-Forwarded-For`. With 0 the address is `REMOTE_ADDR` and `X-Forwarded-For` is ignored; with N the
address is the N-th entry from the right — the one the outermost trusted proxy saw. Whatever a
client put further left is its own invention and never read.

Infrastructure: imports nothing of the project's apps (flags, outbox and workers may call it).
"""

import ipaddress

from rest_framework.settings import api_settings

IPV6_NETWORK_PREFIX = 64  # one IPv6 subscriber gets a /64: every address in it is one network identity


def _valid(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return ""


def client_address(request) -> str:
    """The client's IP address as the trusted proxies saw it ("" if nothing sane is known).

    Works with Django's HttpRequest and DRF's Request (anything with `META`).
    """
    meta = request.META
    remote = _valid(meta.get("REMOTE_ADDR", "") or "")
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop for hop in forwarded.split(",")]
    # The entry the outermost trusted proxy appended (DRF's rule); fewer entries than proxies:
    # the request skipped a proxy, take the leftmost the proxies wrote.
    picked = _valid(hops[-min(proxies, len(hops))])
    return picked or remote


def network_identity(request) -> str:
    """The client's network: its IPv4 address, or the /64 an IPv6 address belongs to (written as
    that network's first address, so it stays a valid IP for libraries that store one)."""
    return network_of(client_address(request))


def network_of(address: str) -> str:
    """network_identity of one address ("" when it is not an IP address)."""
    address = _valid(address)
    if not address:
        return ""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_NETWORK_PREFIX}", strict=False).network_address)
    return str(ip)

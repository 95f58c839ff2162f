"""One definition of the client address (config.client): REMOTE_ADDR unless NUM_PROXIES trusted
proxies append to X-Forwarded-For; IPv6 networks by /64."""

import pytest
from django.test import RequestFactory

from config.client import client_address, network_identity, network_of


def request(remote="203.0.113.9", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def proxies(settings):
    def set_to(count: int):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return set_to


def test_without_proxies_the_forwarded_header_is_never_read(proxies):
    proxies(0)
    assert client_address(request(forwarded="198.51.100.1")) == "203.0.113.9"
    assert client_address(request(forwarded="garbage, 1.2.3.4")) == "203.0.113.9"


def test_behind_one_proxy_the_address_it_appended_counts(proxies):
    proxies(1)
    assert client_address(request("127.0.0.1", "198.51.100.7")) == "198.51.100.7"
    # Whatever the client wrote itself stands to the left of what the proxy appended.
    assert client_address(request("127.0.0.1", "10.9.9.9, 1.1.1.1, 198.51.100.7")) == "198.51.100.7"
    assert client_address(request("127.0.0.1")) == "127.0.0.1"  # reached the app directly


def test_behind_two_proxies_the_outer_proxys_view_counts(proxies):
    proxies(2)
    assert client_address(request("10.0.0.2", "spoofed, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"


def test_an_unparsable_hop_falls_back_to_the_peer(proxies):
    proxies(1)
    assert client_address(request("127.0.0.1", "not-an-ip")) == "127.0.0.1"


def test_ipv6_clients_are_one_network_per_64():
    assert network_identity(request("2001:db8:1:2:aaaa::1")) == network_identity(request("2001:db8:1:2:bbbb::9"))
    assert network_identity(request("2001:db8:1:2::1")) != network_identity(request("2001:db8:1:3::1"))
    assert network_of("::ffff:198.51.100.3") == "198.51.100.3"
    assert network_of("198.51.100.3") == "198.51.100.3"
    assert network_of("nonsense") == ""


@pytest.mark.django_db
def test_metrics_read_the_same_client_address(client, proxies, settings):
    settings.METRICS_ALLOWED_IPS = ["198.51.100.0/24"]
    proxies(0)
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.5").status_code == 200
    # A forwarded request with no trusted proxy: its peer cannot vouch for the client.
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.5", HTTP_X_FORWARDED_FOR="198.51.100.6").status_code == 403
    proxies(1)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.6").status_code == 200
    assert (
        client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.6, 203.0.113.1").status_code
        == 403
    )

"""The real RabbitMQ on loopback, one exchange per test (parallel runs never share one)."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import pika
import pytest

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def reachable(url: str = AMQP_URL) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=2):
            return True
    except OSError:
        return False


def require_broker() -> None:
    if reachable():
        return
    message = f"RabbitMQ does not answer at {AMQP_URL} (set TEST_AMQP_URL)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; it is mandatory under CI=true")
    pytest.skip(message)


def url_via(port: int, url: str = AMQP_URL) -> str:
    """The broker URL with its port replaced (to go through a test-controlled proxy)."""
    parsed = urlparse(url)
    netloc = parsed.netloc.rsplit(":", 1)[0] if parsed.port else parsed.netloc
    return parsed._replace(netloc=f"{netloc}:{port}").geturl()


@dataclass
class Received:
    routing_key: str
    properties: pika.BasicProperties
    body: dict

    @property
    def message_id(self) -> str:
        return self.properties.message_id


class Broker:
    def __init__(self, url: str = AMQP_URL):
        self.url = url
        self.exchange = f"packyard.test.{uuid.uuid4().hex[:12]}"
        self.queues: list[str] = []

    def _channel(self):
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        return connection, connection.channel()

    def bind_queue(self, binding: str = "#") -> str:
        """A durable queue bound to the test's exchange (declared here too, as a consumer would)."""
        name = f"{self.exchange}.q{len(self.queues)}"
        connection, channel = self._channel()
        try:
            channel.exchange_declare(self.exchange, "topic", durable=True)
            channel.queue_declare(name, durable=True)
            channel.queue_bind(name, self.exchange, binding)
        finally:
            connection.close()
        self.queues.append(name)
        return name

    def collect(self, queue: str, *, count: int, timeout: float = 60.0, settle: float = 0.5) -> list[Received]:
        """Messages from `queue` until `count` arrived (then `settle` seconds more for late duplicates)
        or `timeout` passed."""
        received: list[Received] = []
        connection, channel = self._channel()
        deadline = time.monotonic() + timeout
        quiet_until = None
        try:
            for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.2):
                if method is not None:
                    received.append(Received(method.routing_key, properties, json.loads(body)))
                now = time.monotonic()
                if len(received) >= count and quiet_until is None:
                    quiet_until = now + settle
                if now > deadline or (quiet_until is not None and now > quiet_until):
                    break
            channel.cancel()
        finally:
            connection.close()
        return received

    def cleanup(self) -> None:
        try:
            connection, channel = self._channel()
        except Exception:
            return
        try:
            for name in self.queues:
                channel.queue_delete(name)
            channel.exchange_delete(self.exchange)
        finally:
            connection.close()


def in_order_per_aggregate(received: list[Received]) -> dict[str, list[int]]:
    """Each aggregate's `seq` payload values in arrival order."""
    sequences: dict[str, list[int]] = {}
    for message in received:
        sequences.setdefault(message.body["aggregate_id"], []).append(message.body["payload"]["seq"])
    return sequences

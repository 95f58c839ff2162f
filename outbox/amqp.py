"""A confirming AMQP publisher for the outbox relay (pika's SelectConnection on its own I/O thread).

Why an I/O thread and not pika's BlockingConnection: a blocking channel in confirm mode waits for
each message's confirm before the next publish (about 1,500 persistent messages/s here), and it
services heartbeats only while the caller is inside pika, so an idle relay would be dropped by the
broker. Here one thread owns the connection: it answers heartbeats whatever the relay is doing,
publishes a whole batch at once with `mandatory` set, and resolves one Future per message when the
broker's (possibly multiple) Basic.Ack or Basic.Nack arrives. A Basic.Return (unroutable) comes
before that message's ack and turns it into a failure. A lost connection fails every unconfirmed
message, and the thread reconnects with exponential backoff and jitter.

Callers on other threads only call publish(), is_ready(), wait_ready() and stop().
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.spec import Basic

from outbox.metrics import RELAY_CONNECTED, RELAY_CONNECTIONS

logger = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not take responsibility for a message; publish it again later."""


class Unroutable(PublishError):
    """Returned by the broker: no queue is bound for its routing key (published with mandatory)."""


class Nacked(PublishError):
    """The broker refused the message (Basic.Nack)."""


class ConnectionLost(PublishError):
    """The connection or channel closed before the broker confirmed the message."""


@dataclass(frozen=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str
    headers: dict
    type: str = ""
    timestamp: int | None = None
    correlation_id: str | None = None
    content_type: str = "application/json"
    app_id: str = "packyard"

    def properties(self) -> pika.BasicProperties:
        return pika.BasicProperties(
            content_type=self.content_type,
            content_encoding="utf-8",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=self.message_id,
            correlation_id=self.correlation_id or None,
            timestamp=self.timestamp,
            type=self.type or None,
            app_id=self.app_id,
            headers=self.headers,
        )


@dataclass
class _Unconfirmed:
    future: Future
    message_id: str
    returned: str = ""
    sent_at: float = field(default_factory=time.monotonic)


def _settle(future: Future, *, error: BaseException | None = None, result: object = None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class ConfirmingPublisher:
    def __init__(
        self,
        *,
        url: str,
        exchange: str,
        connection_name: str = "packyard-outbox-relay",
        reconnect_max_seconds: float = 30.0,
        reconnect_base_seconds: float = 0.5,
    ):
        self.exchange = exchange
        self.reconnect_max_seconds = reconnect_max_seconds
        self.reconnect_base_seconds = reconnect_base_seconds
        self._parameters = pika.URLParameters(url)
        self._parameters.client_properties = {"connection_name": connection_name[:255]}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        # Owned by the I/O thread:
        self._connection: pika.SelectConnection | None = None
        self._channel: Any = None
        self._delivery_tag = 0
        self._unconfirmed: dict[int, _Unconfirmed] = {}
        self._was_ready = False  # this connection got as far as a confirming channel
        # Handed over from callers to the I/O thread.
        self._submitted: collections.deque[tuple[list[OutgoingMessage], list[Future]]] = collections.deque()
        self._submit_lock = threading.Lock()

    # --- callers' side -------------------------------------------------------------------------

    def start(self) -> ConfirmingPublisher:
        self._thread = threading.Thread(target=self._run, name="amqp-io", daemon=True)
        self._thread.start()
        return self

    def is_ready(self) -> bool:
        """Connected, the exchange declared and confirms on: publishing makes sense now."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def publish(self, messages: list[OutgoingMessage]) -> list[Future]:
        """Send messages in this order; each Future resolves when the broker confirmed it, or fails
        with a PublishError (Unroutable, Nacked, ConnectionLost)."""
        futures: list[Future] = [Future() for _ in messages]
        if not messages:
            return futures
        with self._submit_lock:
            connection = self._connection
            if connection is None or not self._ready.is_set() or self._stop.is_set():
                for future in futures:
                    _settle(future, error=ConnectionLost("not connected to the broker"))
                return futures
            self._submitted.append((messages, futures))
            try:
                connection.ioloop.add_callback_threadsafe(self._flush)
            except Exception as exc:  # the loop is gone: the I/O thread fails what is left over
                logger.debug("relay publisher: could not wake the I/O loop (%s)", exc)
        return futures

    def stop(self, timeout: float = 10.0) -> None:
        """Close the channel and connection cleanly (unconfirmed messages fail), end the I/O thread."""
        self._stop.set()
        with self._submit_lock:
            connection = self._connection
        if connection is not None:
            try:
                connection.ioloop.add_callback_threadsafe(self._close)
            except Exception:
                logger.debug("relay publisher: the I/O loop was already gone at stop", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)

    # --- I/O thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._was_ready = False
            connection = pika.SelectConnection(
                self._parameters,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_open_error,
                on_close_callback=self._on_connection_closed,
            )
            with self._submit_lock:
                self._connection = connection
            try:
                connection.ioloop.start()
            except Exception:
                logger.exception("relay publisher: the I/O loop failed")
            self._after_disconnect()
            if self._stop.is_set():
                break
            failures = 0 if self._was_ready else failures + 1
            delay = min(self.reconnect_max_seconds, self.reconnect_base_seconds * 2**failures)
            delay *= random.uniform(0.5, 1.0)
            logger.warning("relay publisher: reconnecting to the broker in %.1fs", delay)
            self._stop.wait(delay)
        self._after_disconnect()
        with self._submit_lock:
            self._connection = None

    def _after_disconnect(self) -> None:
        self._ready.clear()
        self._channel = None
        RELAY_CONNECTED.set(0)
        self._fail_unconfirmed("the connection to the broker closed before the confirm")
        with self._submit_lock:
            leftover = list(self._submitted)
            self._submitted.clear()
        for _, futures in leftover:
            for future in futures:
                _settle(future, error=ConnectionLost("not connected to the broker"))

    def _fail_unconfirmed(self, reason: str) -> None:
        unconfirmed, self._unconfirmed = self._unconfirmed, {}
        for entry in unconfirmed.values():
            _settle(entry.future, error=ConnectionLost(reason))

    def _on_connection_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection, error) -> None:
        RELAY_CONNECTIONS.labels("failed").inc()
        logger.warning("relay publisher: could not connect to the broker (%r)", error)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection, reason) -> None:
        if self._was_ready:
            RELAY_CONNECTIONS.labels("closed" if self._stop.is_set() else "lost").inc()
        self._ready.clear()
        self._channel = None
        if not self._stop.is_set():
            logger.warning("relay publisher: connection to the broker closed (%s)", reason)
        connection.ioloop.stop()

    def _on_channel_open(self, channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(
            exchange=self.exchange, exchange_type="topic", durable=True, callback=self._on_exchange_declared
        )

    def _on_exchange_declared(self, _frame) -> None:
        self._channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirm_mode)

    def _on_confirm_mode(self, _frame) -> None:
        self._delivery_tag = 0
        self._was_ready = True
        self._ready.set()
        RELAY_CONNECTED.set(1)
        RELAY_CONNECTIONS.labels("opened").inc()
        logger.info("relay publisher: connected; publishing to exchange %r with confirms", self.exchange)
        self._flush()

    def _on_channel_closed(self, channel, reason) -> None:
        self._ready.clear()
        self._channel = None
        self._fail_unconfirmed(f"the channel closed before the confirm ({reason})")
        connection = self._connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            if not self._stop.is_set():
                logger.warning("relay publisher: channel closed (%s); reconnecting", reason)
            connection.close()

    def _flush(self) -> None:
        channel = self._channel
        while True:
            with self._submit_lock:
                if not self._submitted:
                    return
                if channel is None or not channel.is_open or not self._ready.is_set():
                    return  # kept until the channel is ready, or failed when the loop ends
                messages, futures = self._submitted.popleft()
            for message, future in zip(messages, futures, strict=True):
                try:
                    channel.basic_publish(
                        self.exchange, message.routing_key, message.body, message.properties(), mandatory=True
                    )
                except Exception as exc:
                    _settle(future, error=ConnectionLost(f"publish failed: {exc}"))
                    continue
                self._delivery_tag += 1
                self._unconfirmed[self._delivery_tag] = _Unconfirmed(future=future, message_id=message.message_id)

    def _on_return(self, _channel, method, properties, _body) -> None:
        reason = f"unroutable: {method.reply_code} {method.reply_text} (routing key {method.routing_key!r})"
        for entry in self._unconfirmed.values():
            if entry.message_id == properties.message_id and not entry.returned:
                entry.returned = reason
                return

    def _on_confirm(self, frame) -> None:
        method = frame.method
        nacked = isinstance(method, Basic.Nack)
        if method.multiple:
            tags = []
            for tag in self._unconfirmed:  # insertion order is tag order
                if tag > method.delivery_tag:
                    break
                tags.append(tag)
        else:
            tags = [method.delivery_tag]
        for tag in tags:
            entry = self._unconfirmed.pop(tag, None)
            if entry is None:
                continue
            if nacked:
                _settle(entry.future, error=Nacked("the broker nacked the message"))
            elif entry.returned:
                _settle(entry.future, error=Unroutable(entry.returned))
            else:
                _settle(entry.future, result=time.monotonic() - entry.sent_at)

    def _close(self) -> None:
        self._ready.clear()
        connection = self._connection
        if connection is None:
            return
        if not connection.is_open:  # closed, closing, or still opening (pika cannot close that cleanly)
            connection.ioloop.stop()
            return
        connection.close()

import pytest

from tests.outbox.broker import Broker, require_broker


@pytest.fixture
def broker(settings):
    """A fresh exchange on the real RabbitMQ; the relay in this process (and its settings) point at it."""
    require_broker()
    broker = Broker()
    settings.OUTBOX_RELAY_URL = broker.url
    settings.OUTBOX_RELAY_EXCHANGE = broker.exchange
    yield broker
    broker.cleanup()


@pytest.fixture
def relay_on(settings):
    """The relay configured (deliveries are written with events) without needing a broker."""
    settings.OUTBOX_RELAY_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
    settings.OUTBOX_RELAY_EXCHANGE = "packyard.test.unused"


@pytest.fixture
def fast_retries(settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0.0
    settings.WORKER_RETRY_CAP_SECONDS = 0.0

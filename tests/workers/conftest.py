import pytest

import tests.workers.tasks_for_tests  # noqa: F401 - registers the test task types in this process


@pytest.fixture
def fast_retries(settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0.0
    settings.WORKER_RETRY_CAP_SECONDS = 0.0

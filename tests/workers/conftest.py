import pytest

import tests.workers.tasks_api_for_tests  # noqa: F401 - declares the test @task functions in this process
import tests.workers.tasks_for_tests  # noqa: F401 - registers the test task types in this process


@pytest.fixture
def fast_retries(settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0.0
    settings.WORKER_RETRY_CAP_SECONDS = 0.0


@pytest.fixture(autouse=True)
def _catalog_cycles_off(settings):
    """The mechanism tests count their own tasks: the catalog's periodic cycles stay off."""
    from tests.workers.procs import CATALOG_CADENCES

    for name in CATALOG_CADENCES:
        setattr(settings, name, 0)

import pytest

from outbox.models import DomainEventDeadLetter
from outbox.services import EVENTS, publish
from workers.models import WorkerTask, WorkerTaskDeadLetter
from workers.services import TASKS, enqueue_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def _dead_task(n: int) -> WorkerTaskDeadLetter:
    enqueue_task(
        task_type="test_poison", idempotency_key=f"dead:{n}", payload={"n": n, "note": "<b>x</b>"}, max_attempts=1
    )
    [item] = TASKS.claim(worker_id="w", types=["test_poison"])
    TASKS.fail(item, worker_id="w", error=f"RuntimeError: poison pill {n}\nTraceback line")
    return WorkerTaskDeadLetter.objects.get(original_id=item.id)


def test_dashboard_shows_counts_per_queue(staff_client):
    enqueue_task(task_type="test_probe", idempotency_key="a")
    enqueue_task(task_type="test_probe", idempotency_key="b")
    enqueue_task(task_type="test_probe", idempotency_key="c")
    TASKS.claim(worker_id="w", types=["test_probe"])
    _dead_task(1)
    publish(event_type="TEST_EVENT", aggregate_type="pack", aggregate_id=1, payload={"n": 1}, idempotency_key="e1")
    page = staff_client.get("/admin/workers/workertask/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<tr class="queue-tasks">' in html and '<tr class="queue-outbox">' in html
    tasks_row = html[html.index('<tr class="queue-tasks">') : html.index('<tr class="queue-outbox">')]
    assert '<td class="pending">2</td>' in tasks_row
    assert '<td class="processing">1</td>' in tasks_row
    assert '<td class="failed">1</td>' in tasks_row and '<td class="dead">1</td>' in tasks_row
    outbox_row = html[html.index('<tr class="queue-outbox">') :]
    assert '<td class="pending">1</td>' in outbox_row


def test_dashboard_is_staff_only(client, user):
    client.force_login(user)
    assert client.get("/admin/workers/workertask/dashboard/").status_code == 302


def test_dead_letter_is_read_only_and_formatted(staff_client):
    letter = _dead_task(2)
    page = staff_client.get(f"/admin/workers/workertaskdeadletter/{letter.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<pre" in html and "poison pill 2" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # payload escaped, not rendered
    assert 'name="_save"' not in html
    listing = staff_client.get("/admin/workers/workertaskdeadletter/").content.decode()
    assert "delete_selected" not in listing and "requeue" in listing and "discard" in listing


def test_requeue_and_discard_actions(staff_client):
    first, second = _dead_task(3), _dead_task(4)
    response = staff_client.post(
        "/admin/workers/workertaskdeadletter/", {"action": "requeue", "_selected_action": [str(first.pk)], "index": "0"}
    )
    assert response.status_code == 302
    task = WorkerTask.objects.get(id=first.original_id)
    assert (task.status, task.attempts) == ("pending", 0)
    staff_client.post(
        "/admin/workers/workertaskdeadletter/",
        {"action": "discard", "_selected_action": [str(second.pk)], "index": "0"},
    )
    assert not WorkerTaskDeadLetter.objects.exists()


def test_outbox_dead_letters_use_the_same_actions(staff_client, settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0
    publish(event_type="TEST_EVENT", aggregate_type="pack", aggregate_id=5, payload={"n": 5}, idempotency_key="e5")
    from outbox.models import DomainEvent

    DomainEvent.objects.update(max_attempts=1)
    [item] = EVENTS.claim(worker_id="c")
    EVENTS.fail(item, worker_id="c", error="handler broke")
    letter = DomainEventDeadLetter.objects.get()
    assert staff_client.get(f"/admin/outbox/domaineventdeadletter/{letter.pk}/change/").status_code == 200
    staff_client.post(
        "/admin/outbox/domaineventdeadletter/",
        {"action": "requeue", "_selected_action": [str(letter.pk)], "index": "0"},
    )
    assert DomainEvent.objects.get().status == "pending"
    assert not DomainEventDeadLetter.objects.exists()


def test_lists_and_history_render_with_filters(staff_client):
    _dead_task(6)
    for url in [
        "/admin/workers/workertask/?status__exact=failed",
        "/admin/workers/taskrun/?outcome__exact=dead",
        "/admin/outbox/domainevent/?status__exact=pending",
        "/admin/workers/workertask/",
    ]:
        assert staff_client.get(url).status_code == 200, url
    assert b"Queue dashboard" in staff_client.get("/admin/workers/workertask/").content


def test_leases_are_listed_read_only(staff_client):
    from workers.locks import lease_acquire

    lease_acquire("auto-packs", holder="curation:abc", ttl_seconds=60)
    page = staff_client.get("/admin/workers/lease/")
    assert page.status_code == 200 and "curation:abc" in page.content.decode()
    assert staff_client.get("/admin/workers/lease/add/").status_code == 403

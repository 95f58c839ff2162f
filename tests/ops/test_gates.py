"""`manage.py rollout_gates` from the database and from a loadtest report (Prometheus: test_e2e)."""

import io
import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from ops.gates import GATES
from outbox.models import DomainEventDeadLetter
from workers.models import WorkerTask

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def gates(*args: str) -> tuple[int, dict]:
    cache.clear()
    out = io.StringIO()
    code = 0
    try:
        call_command("rollout_gates", "--json", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, {row["gate"] + ":" + row["source"]: row for row in json.loads(out.getvalue())["gates"]}


def test_gates_pass_on_a_quiet_system_and_fail_when_a_dead_letter_is_added():
    code, rows = gates()
    assert code == 0
    assert rows["dead_letter_growth:database"]["value"] == 0 and rows["dead_letter_growth:database"]["status"] == "PASS"
    assert rows["http_p95_ms:none"]["status"] == "SKIP"
    DomainEventDeadLetter.objects.create(original_id=1, idempotency_key="k", event_type="PACK_UPDATED")
    code, rows = gates()
    assert code == 1
    assert rows["dead_letter_growth:database"] == {**rows["dead_letter_growth:database"], "value": 1, "status": "FAIL"}


def test_a_backlog_fails_its_gate(settings):
    settings.ROLLOUT_GATE_MAX_PENDING = 2
    WorkerTask.objects.bulk_create([WorkerTask(task_type="t", idempotency_key=f"k{n}") for n in range(3)])
    code, rows = gates()
    assert code == 1 and rows["queue_pending:database"]["value"] == 3
    assert rows["queue_pending:database"]["status"] == "FAIL"


def test_http_gates_come_from_a_loadtest_report(tmp_path, settings):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"requests_total": 100, "latency_ms": {"p95": 120.0}, "error_rate": 0.01}))
    code, rows = gates("--loadtest-report", str(report))
    assert code == 0 and rows["http_p95_ms:loadtest"]["value"] == 120.0
    settings.HTTP_SLO_TARGET_MS = 100
    code, rows = gates("--loadtest-report", str(report))
    assert code == 1 and rows["http_p95_ms:loadtest"]["status"] == "FAIL"
    report.write_text(json.dumps({"requests_total": 0, "latency_ms": {"p95": 0}, "error_rate": 0}))
    code, rows = gates("--loadtest-report", str(report))
    assert code == 1 and rows["http_error_rate:loadtest"]["status"] == "FAIL"  # no data is no evidence


def test_the_human_readable_table_names_every_gate():
    out = io.StringIO()
    call_command("rollout_gates", stdout=out)
    text = out.getvalue()
    for gate in GATES:
        assert gate.name in text
    assert "all evaluated gates pass" in text


def test_the_runbook_names_each_gate_as_its_promql_query():
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    for gate in GATES:
        assert gate.promql(15) in runbook, gate.name
    assert "not built" not in runbook

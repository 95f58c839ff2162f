"""Each promotion gate of the rollout runbook with its value, threshold and PASS/FAIL; exit 1
when one fails (docs/runbook.md)."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.gates import evaluate_gates
from workers.commands import positive_int


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--loadtest-report", type=Path, help="JSON report of manage.py loadtest (p95, errors)")
        parser.add_argument("--prometheus-url", help="evaluate every gate's PromQL there too, e.g. http://host:9090")
        parser.add_argument("--window-minutes", type=positive_int, help="ROLLOUT_GATE_WINDOW_MINUTES (15)")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    def handle(self, *args, **options):
        report = None
        if options["loadtest_report"]:
            try:
                report = json.loads(options["loadtest_report"].read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the loadtest report: {exc}") from exc
        results = evaluate_gates(
            window_minutes=options["window_minutes"], loadtest_report=report, prometheus_url=options["prometheus_url"]
        )
        failed = [result for result in results if result.status == "FAIL"]
        if options["json"]:
            self.stdout.write(json.dumps({"passed": not failed, "gates": [r.as_dict() for r in results]}, indent=2))
        else:
            self.stdout.write(f"{'gate':<30} {'source':<11} {'value':>12} {'threshold':>12}  result")
            for result in results:
                value = "-" if result.value is None else f"{result.value:.4g}"
                self.stdout.write(
                    f"{result.gate.name:<30} {result.source:<11} {value:>12} {'<= ' + format(result.threshold, 'g'):>12}"
                    f"  {result.status}" + (f"  ({result.detail})" if result.detail else "")
                )
            self.stdout.write("FAIL: do not promote" if failed else "all evaluated gates pass")
        if failed:
            sys.exit(1)

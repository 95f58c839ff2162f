"""Closed-loop HTTP load test with the SPEC §8 report: exit 0 pass, 1 fail, 2 no request made."""

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.loadtest import LoadtestError, LoadtestOptions, live_figures, render_html, run_loadtest, split_paths
from workers.commands import positive_float, positive_int

DEFAULT_PATHS = "/api/sticker-packs?limit=24&sort=ranking,/api/sticker-packs/stats,/api/sticker-packs/creators"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="http(s)://host[:port][/prefix] of the server")
        parser.add_argument("--duration-seconds", type=positive_float, default=30.0)
        parser.add_argument("--concurrency", type=positive_int, default=20, help="connections, each closed-loop")
        parser.add_argument("--timeout-ms", type=positive_int, default=5000, help="per request")
        parser.add_argument("--slo-ms", type=positive_int, default=None, help="p95 target (HTTP_SLO_TARGET_MS)")
        parser.add_argument("--paths", default=DEFAULT_PATHS, help="comma-separated paths, taken in turn")
        parser.add_argument("--out", type=Path, help="write the JSON report here (else stdout)")
        parser.add_argument("--html", type=Path, help="also write a self-contained HTML report here")

    def handle(self, *args, **options):
        try:
            load = LoadtestOptions(
                base_url=options["base_url"],
                paths=split_paths(options["paths"]),
                duration_seconds=options["duration_seconds"],
                concurrency=options["concurrency"],
                timeout_ms=options["timeout_ms"],
                slo_ms=options["slo_ms"] or settings.HTTP_SLO_TARGET_MS,
            )
            report = run_loadtest(load, progress=self._progress(load.duration_seconds, options["verbosity"]))
        except LoadtestError as exc:
            raise CommandError(str(exc)) from exc
        self._clear_progress()
        text = json.dumps(report, indent=2)
        if options["out"]:
            options["out"].write_text(text + "\n")
        else:
            self.stdout.write(text)
        if options["html"]:
            options["html"].write_text(render_html(report))
        latency = report["latency_ms"]
        self.stderr.write(
            f"loadtest: {report['requests_total']} requests, {report['throughput_rps']} req/s, "
            f"p95 {latency['p95']} ms (SLO {report['slo']['target_ms']} ms), error rate {report['error_rate']:.2%}"
            f" -> {'PASS' if report['passed'] else 'FAIL'} (exit {report['exit_code']})"
        )
        sys.exit(report["exit_code"])

    def _progress(self, duration: float, verbosity: int):
        if verbosity < 1:
            return None
        tty = self.stderr.isatty()
        self._tty = tty
        every = 1 if tty else 5

        def show(recorder, elapsed):
            second = int(elapsed)
            if second % every:
                return
            figures = live_figures(recorder, elapsed)
            line = (
                f"[{min(elapsed, duration):5.0f}/{duration:.0f} s] {figures['requests']:>8} req  "
                f"{figures['rps']:8.1f} req/s  p95 {figures['p95_ms']:7.1f} ms  errors {figures['error_rate']:6.2%}"
            )
            if tty:
                self.stderr.write("\r" + line, ending="")
                self.stderr.flush()
            else:
                self.stderr.write(line)

        return show

    def _clear_progress(self) -> None:
        if getattr(self, "_tty", False):
            self.stderr.write("")

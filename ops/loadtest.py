"""`manage.py loadtest`: closed-loop load against a running server, a JSON report (SPEC §8) and an
optional self-contained HTML report.

A request succeeds when it gets a status below 400; a 4xx/5xx, a timeout or a broken
connection is an error. Exit codes: 0 when p95 <= the SLO and errors <= 2 %, 1 otherwise, 2 when
no request could be made (no connection to the server was ever opened).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import cycle
from urllib.parse import urlsplit

from ops.loadclient import ConnectFailed, Connection, closed_loop, percentile

MAX_ERROR_RATE = 0.02
SAMPLE_ERRORS_KEPT = 10
HISTOGRAM_EDGES_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 750, 1000, 2500, 5000, 10000)
EXIT_PASS, EXIT_FAIL, EXIT_NO_REQUESTS = 0, 1, 2


class LoadtestError(ValueError):
    """Options that cannot describe a load test."""


def split_paths(value: str) -> list[str]:
    """`/a,/b?x=1,2` → ['/a', '/b?x=1,2']: commas start a new path only before a '/'."""
    paths = [part.strip() for part in re.split(r",(?=\s*/)", value) if part.strip()]
    for path in paths:
        if not path.startswith("/"):
            raise LoadtestError(f"paths start with '/': {path!r}")
    return paths


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    tls: bool
    host_header: str
    prefix: str

    @classmethod
    def parse(cls, base_url: str) -> Target:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadtestError(f"--base-url must be http://host[:port][/prefix] or https://..., not {base_url!r}")
        tls = parts.scheme == "https"
        try:
            port = parts.port or (443 if tls else 80)
        except ValueError as exc:
            raise LoadtestError(f"bad port in --base-url {base_url!r}") from exc
        return cls(parts.hostname, port, tls, parts.netloc, parts.path.rstrip("/"))


@dataclass
class Recorder:
    """Every measured request: when it started (seconds into the run), its latency and outcome."""

    started_at: float
    offsets: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    failed: list[bool] = field(default_factory=list)
    by_status: Counter = field(default_factory=Counter)
    sample_errors: list[dict] = field(default_factory=list)
    connect_failures: int = 0

    def record(self, path, started, latency_ms, status, error, body_bytes) -> None:
        failed = error is not None or status >= 400
        self.offsets.append(started - self.started_at)
        self.latencies_ms.append(latency_ms)
        self.failed.append(failed)
        if error is not None:
            kind = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
            self.connect_failures += isinstance(error, ConnectFailed)
            self.by_status[kind] += 1
        else:
            self.by_status[str(status)] += 1
        if failed and len(self.sample_errors) < SAMPLE_ERRORS_KEPT:
            sample = {"path": path, "status": status, "latency_ms": round(latency_ms, 1)}
            if error is not None:
                sample["error"] = str(error) or type(error).__name__
            self.sample_errors.append(sample)


@dataclass(frozen=True)
class LoadtestOptions:
    base_url: str
    paths: list[str]
    duration_seconds: float = 30.0
    concurrency: int = 20
    timeout_ms: int = 5000
    slo_ms: int = 750


async def _run(options: LoadtestOptions, target: Target, recorder: Recorder, progress) -> list[Connection]:
    stop_at = recorder.started_at + options.duration_seconds
    paths = cycle([target.prefix + path for path in options.paths])
    connections = [
        Connection(target.host, target.port, tls=target.tls, host_header=target.host_header)
        for _ in range(options.concurrency)
    ]
    loops = [
        closed_loop(conn, lambda: next(paths), recorder.started_at, stop_at, options.timeout_ms / 1000, recorder.record)
        for conn in connections
    ]

    async def report_progress():
        while True:
            await asyncio.sleep(1.0)
            progress(recorder, time.monotonic() - recorder.started_at)

    reporter = asyncio.ensure_future(report_progress()) if progress else None
    try:
        await asyncio.gather(*loops)
    finally:
        if reporter is not None:
            reporter.cancel()
    return connections


def run_loadtest(options: LoadtestOptions, *, progress=None) -> dict:
    """Run the load and return the report. `progress(recorder, elapsed_seconds)` is called
    about once a second while it runs."""
    if options.concurrency < 1 or options.duration_seconds <= 0 or options.timeout_ms <= 0:
        raise LoadtestError("--concurrency, --duration-seconds and --timeout-ms must be positive")
    if not options.paths:
        raise LoadtestError("--paths names at least one path")
    target = Target.parse(options.base_url)
    started_wall = datetime.now(UTC)
    recorder = Recorder(started_at=time.monotonic())
    connections = asyncio.run(_run(options, target, recorder, progress))
    elapsed = max(1e-9, time.monotonic() - recorder.started_at)
    return build_report(
        options,
        recorder,
        elapsed_seconds=elapsed,
        connections_opened=sum(conn.opened for conn in connections),
        started=started_wall,
    )


def live_figures(recorder: Recorder, elapsed: float) -> dict:
    """Figures of the run so far (for the progress line)."""
    total = len(recorder.latencies_ms)
    window = sorted(recorder.latencies_ms[-5000:])
    return {
        "requests": total,
        "rps": total / elapsed if elapsed > 0 else 0.0,
        "p95_ms": percentile(window, 95),
        "error_rate": (sum(recorder.failed) / total) if total else 0.0,
    }


def _timeline(recorder: Recorder, seconds: int) -> list[dict]:
    buckets: list[list[float]] = [[] for _ in range(seconds)]
    errors = [0] * seconds
    for offset, latency, failed in zip(recorder.offsets, recorder.latencies_ms, recorder.failed, strict=True):
        index = min(seconds - 1, int(offset))
        buckets[index].append(latency)
        errors[index] += failed
    timeline = []
    for second, values in enumerate(buckets):
        values.sort()
        timeline.append(
            {
                "second": second,
                "requests": len(values),
                "errors": errors[second],
                "p50_ms": round(percentile(values, 50), 1),
                "p95_ms": round(percentile(values, 95), 1),
                "max_ms": round(values[-1], 1) if values else 0.0,
            }
        )
    return timeline


def _histogram(latencies: list[float]) -> list[dict]:
    edges = [0, *HISTOGRAM_EDGES_MS, math.inf]
    counts = [0] * (len(edges) - 1)
    for value in latencies:
        counts[min(len(counts) - 1, bisect.bisect_right(HISTOGRAM_EDGES_MS, value))] += 1
    return [
        {"from_ms": edges[i], "to_ms": None if math.isinf(edges[i + 1]) else edges[i + 1], "count": counts[i]}
        for i in range(len(counts))
    ]


def build_report(
    options: LoadtestOptions, recorder: Recorder, *, elapsed_seconds: float, connections_opened: int, started
) -> dict:
    values = sorted(recorder.latencies_ms)
    total = len(values)
    errors = sum(recorder.failed)
    p95 = round(percentile(values, 95), 1)
    error_rate = round(errors / total, 6) if total else 0.0
    made_requests = connections_opened > 0 and total > 0
    passed = made_requests and p95 <= options.slo_ms and error_rate <= MAX_ERROR_RATE
    return {
        "base_url": options.base_url,
        "paths": options.paths,
        "started_at": started.isoformat(),
        "duration_seconds": round(elapsed_seconds, 3),
        "concurrency": options.concurrency,
        "timeout_ms": options.timeout_ms,
        "requests_total": total,
        "requests_success": total - errors,
        "requests_error": errors,
        "error_rate": error_rate,
        "throughput_rps": round(total / elapsed_seconds, 1),
        "latency_ms": {
            "p50": round(percentile(values, 50), 1),
            "p90": round(percentile(values, 90), 1),
            "p95": p95,
            "p99": round(percentile(values, 99), 1),
            "max": round(values[-1], 1) if values else 0.0,
        },
        "by_status": dict(sorted(recorder.by_status.items())),
        "slo": {"target_ms": options.slo_ms, "p95_within_target": bool(made_requests and p95 <= options.slo_ms)},
        "max_error_rate": MAX_ERROR_RATE,
        "connections_opened": connections_opened,
        "connect_failures": recorder.connect_failures,
        "sample_errors": recorder.sample_errors,
        # By the second each request started in (none start after the duration; the last
        # fraction of a second counts in the last one).
        "timeline": _timeline(recorder, max(1, int(options.duration_seconds))),
        "histogram": _histogram(values),
        "passed": bool(passed),
        "exit_code": exit_code_of(made_requests=made_requests, passed=passed),
    }


def exit_code_of(*, made_requests: bool, passed: bool) -> int:
    if not made_requests:
        return EXIT_NO_REQUESTS
    return EXIT_PASS if passed else EXIT_FAIL


# --- HTML ----------------------------------------------------------------------------------------

CHART_W, CHART_H, PAD = 720, 220, 40


def _scale(values: list[float], *, minimum: float = 1.0) -> float:
    top = max([minimum, *values])
    magnitude = 10 ** math.floor(math.log10(top))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= top)


def _polyline(points: list[tuple[float, float]], x_max: float, y_max: float) -> str:
    width, height = CHART_W - 2 * PAD, CHART_H - 2 * PAD
    return " ".join(
        f"{PAD + (x / x_max if x_max else 0) * width:.1f},{CHART_H - PAD - (y / y_max) * height:.1f}" for x, y in points
    )


def _ms_label(ms: float) -> str:
    return f"{ms / 1000:g}k" if ms >= 1000 else f"{ms:g}"


def chart_context(report: dict) -> dict:
    """Coordinates of the report's SVG charts (drawn by templates/ops/loadtest_report.html)."""
    timeline = report["timeline"]
    seconds = len(timeline)
    slo = report["slo"]["target_ms"]
    y_max = _scale([row["p95_ms"] for row in timeline])
    height = CHART_H - 2 * PAD
    rps_max = _scale([row["requests"] for row in timeline])
    bar_w = (CHART_W - 2 * PAD) / max(1, seconds)
    histogram = report["histogram"]
    hist_max = max([1] + [row["count"] for row in histogram])
    hist_w = (CHART_W - 2 * PAD) / len(histogram)
    total = max(1, report["requests_total"])
    # Each second's point sits in the middle of its second.
    points = [(row["second"] + 0.5, row) for row in timeline if row["requests"]]
    return {
        "w": CHART_W,
        "h": CHART_H,
        "pad": PAD,
        "right": CHART_W - PAD,
        "bottom": CHART_H - PAD,
        "error_percent": round(100 * report["error_rate"], 2),
        "y_max": _ms_label(y_max),
        "seconds": seconds,
        "p50_points": _polyline([(x, row["p50_ms"]) for x, row in points], seconds, y_max),
        "p95_points": _polyline([(x, row["p95_ms"]) for x, row in points], seconds, y_max),
        "slo_in_range": slo <= y_max,
        "slo_y": round(CHART_H - PAD - min(1.0, slo / y_max) * height, 1),
        "rps_max": f"{rps_max:g}",
        "rps_bars": [
            {
                "x": round(PAD + i * bar_w, 1),
                "w": round(max(1.0, bar_w - 1), 1),
                "y": round(CHART_H - PAD - row["requests"] / rps_max * height, 1),
                "h": round(row["requests"] / rps_max * height, 1),
                "err_y": round(CHART_H - PAD - row["errors"] / rps_max * height, 1),
                "err_h": round(row["errors"] / rps_max * height, 1),
                "title": f"second {row['second']}: {row['requests']} requests, {row['errors']} errors",
            }
            for i, row in enumerate(timeline)
        ],
        "hist_bars": [
            {
                "x": round(PAD + i * hist_w, 1),
                "w": round(hist_w - 4, 1),
                "y": round(CHART_H - PAD - row["count"] / hist_max * height, 1),
                "h": round(row["count"] / hist_max * height, 1),
                "label": f"<{_ms_label(row['to_ms'])}" if row["to_ms"] is not None else f"≥{_ms_label(row['from_ms'])}",
                "count": row["count"],
                "label_x": round(PAD + i * hist_w + (hist_w - 4) / 2, 1),
            }
            for i, row in enumerate(histogram)
        ],
        "statuses": [
            {"status": status, "count": count, "share": round(100 * count / total, 2)}
            for status, count in sorted(report["by_status"].items(), key=lambda item: -item[1])
        ],
    }


def render_html(report: dict) -> str:
    from django.template.loader import render_to_string

    return render_to_string("ops/loadtest_report.html", {"report": report, "chart": chart_context(report)})

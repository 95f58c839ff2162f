"""What the HTTP metrics middleware costs per request, in-process (Django test client).

    .venv/bin/python bench/metrics_bench.py [--requests 3000] [--rounds 7] [--json-out FILE]

The same requests go through three middleware stacks in one run, in alternating rounds:

    full        settings.MIDDLEWARE as deployed
    no-packyard without config.middleware.HttpMetricsMiddleware (packyard_http_*)
    no-metrics  without it and without django-prometheus' Before/After pair

Paths: /healthz (no database) and an anonymous list answered by the read cache (a hit is
answered before URL resolution, so the metrics middleware resolves its route itself). The run
is repeated in prometheus_client's multiprocess mode (values in mmap files, as under
config/gunicorn.py) by re-running this script with PROMETHEUS_MULTIPROC_DIR set.
Figures: median µs per request of each stack, the median per-round difference, and the
difference of the fastest rounds (least disturbed by other load); plus the middleware's own work
timed alone (observe_request, best of 5 x 200k calls), which the noise of a shared machine
disturbs far less. The machine is shared:
compare figures of one run only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = {"healthz": "/healthz", "cached_list": "/api/sticker-packs?limit=24"}
PACKYARD = "config.middleware.HttpMetricsMiddleware"
DJANGO_PROMETHEUS = (
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
)


def setup(workdir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PACKYARD_ENV_FILE": "",
            "SECRET_KEY": "metrics-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "ERROR",
            "API_ANONYMOUS_CACHE_SECONDS": "3600",
            "API_ANONYMOUS_LOCAL_SECONDS": "3600",
        }
    )
    os.environ.pop("DEBUG", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", packs=6, verbosity=0)


def stacks() -> dict[str, list[str]]:
    from django.conf import settings

    full = list(settings.MIDDLEWARE)
    return {
        "full": full,
        "no-packyard": [m for m in full if m != PACKYARD],
        "no-metrics": [m for m in full if m != PACKYARD and m not in DJANGO_PROMETHEUS],
    }


def timed(middleware: list[str], path: str, requests: int) -> float:
    """µs per request through this middleware stack."""
    from django.test import Client, override_settings

    with override_settings(MIDDLEWARE=middleware):
        client = Client()
        for _ in range(50):  # warm: middleware loaded, cache filled, route memo filled
            assert client.get(path).status_code == 200
        started = time.perf_counter()
        for _ in range(requests):
            client.get(path)
        return (time.perf_counter() - started) / requests * 1e6


def direct(calls: int = 200_000) -> dict:
    """The middleware's own work alone (observe_request), without the test client around it."""
    from django.test import RequestFactory
    from django.urls import resolve

    from config.metrics import observe_request

    resolved = RequestFactory().get("/api/sticker-packs")
    resolved.resolver_match = resolve("/api/sticker-packs")
    unresolved = RequestFactory().get("/api/sticker-packs/some-pack")  # a read-cache hit: no resolver_match
    figures = {}
    for label, request in (("resolved", resolved), ("cache_hit", unresolved)):
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(calls):
                observe_request(request, 200, 12.5)
            best = min(best, (time.perf_counter() - started) / calls * 1e6)
        figures[label] = round(best, 2)
    return figures


def measure(requests: int, rounds: int) -> dict:
    variants = stacks()
    results = {"observe_request_us": direct()}
    for label, path in PATHS.items():
        per_round: dict[str, list[float]] = {name: [] for name in variants}
        for round_no in range(rounds):
            order = list(variants) if round_no % 2 == 0 else list(reversed(variants))
            for name in order:
                per_round[name].append(timed(variants[name], path, requests))
        diff = [a - b for a, b in zip(per_round["full"], per_round["no-packyard"], strict=True)]
        diff_all = [a - b for a, b in zip(per_round["full"], per_round["no-metrics"], strict=True)]
        results[label] = {
            "path": path,
            "us_per_request": {name: round(statistics.median(values), 1) for name, values in per_round.items()},
            "packyard_middleware_us": round(statistics.median(diff), 1),
            "all_metrics_middleware_us": round(statistics.median(diff_all), 1),
            # The fastest round of each stack is the least disturbed by other load on the machine.
            "us_per_request_min": {name: round(min(values), 1) for name, values in per_round.items()},
            "packyard_middleware_us_from_min": round(min(per_round["full"]) - min(per_round["no-packyard"]), 1),
            "rounds_us": {name: [round(v, 1) for v in values] for name, values in per_round.items()},
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per stack per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--mode", choices=["both", "single"], default="both", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mode == "single":
        with tempfile.TemporaryDirectory(prefix="metrics-bench-") as workdir:
            setup(Path(workdir))
            print(json.dumps(measure(args.requests, args.rounds)))
        return

    report = {"bench": "metrics_middleware", "cpu_count": os.cpu_count(), "requests": args.requests}
    for mode in ("single-process", "multiprocess"):
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        with tempfile.TemporaryDirectory(prefix="metrics-bench-prom-") as prom_dir:
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = prom_dir
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--mode",
                    "single",
                    "--requests",
                    str(args.requests),
                    "--rounds",
                    str(args.rounds),
                ],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
        if out.returncode != 0:
            raise SystemExit(f"{mode} run failed:\n{out.stderr[-3000:]}")
        report[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{'mode':<15} {'path':<12} {'full':>8} {'no-packyard':>12} {'no-metrics':>11} {'packyard mw':>12} "
        f"{'(from min)':>11} {'all metrics':>12}"
    )
    for mode in ("single-process", "multiprocess"):
        for label, row in report[mode].items():
            if label == "observe_request_us":
                continue
            us = row["us_per_request"]
            print(
                f"{mode:<15} {label:<12} {us['full']:>8.1f} {us['no-packyard']:>12.1f} {us['no-metrics']:>11.1f} "
                f"{row['packyard_middleware_us']:>12.1f} {row['packyard_middleware_us_from_min']:>11.1f} "
                f"{row['all_metrics_middleware_us']:>12.1f}"
            )
    print("(µs per request through the Django test client, median of rounds; the machine is shared)")
    for mode in ("single-process", "multiprocess"):
        figures = report[mode]["observe_request_us"]
        print(
            f"{mode}: the middleware's own work (observe_request, best of 5 x 200k calls): "
            f"{figures['resolved']} µs with a resolved route, {figures['cache_hit']} µs for a read-cache hit"
        )
    print(json.dumps(report))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""CPU per request of a WSGI app called in-process (no server, no client): the minimal Django app
of bench/ceiling_apps.py against the project's /healthz, a cached detail and a cached list page,
each in its own subprocess, interleaved over rounds; optionally a cProfile of one target.

    .venv/bin/python bench/request_cpu.py [--database-url mysql://root@127.0.0.1:3306/packyard_ceiling]
        [--cache-url redis://127.0.0.1:6379/1] [--requests 10000] [--rounds 3] [--profile TARGET]
        [--json-out FILE]

Needs a catalog in the database (bench/ceiling.py or bench/catalog_bench.py builds one). A target's
figure is the best round's process CPU per request (time.process_time), so the ratios say what the
project's code adds to a request over the least Django does; gunicorn's parsing and socket writes
are not in them (bench/ceiling.py measures those, under load).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIST = "/api/sticker-packs?sort=ranking&limit=24"


def environ(path: str) -> dict:
    path_info, _, query = path.partition("?")
    built = {"REQUEST_METHOD": "GET", "PATH_INFO": path_info, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1"}
    setup_testing_defaults(built)  # host 127.0.0.1, http, wsgi.input, ...
    return built


def child(target: str, path: str, requests: int, profile: bool) -> None:
    """In the subprocess: load the app, warm it, then print the CPU microseconds per request."""
    if target == "minimal":
        from bench.ceiling_apps import minimal as app
    else:
        from config.wsgi import application as app  # the WSGI front over Django, as gunicorn serves it
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def once():
        body = app(environ(path), start_response)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()

    for _ in range(500):  # imports, the read cache's entry and its per-process copy
        once()
    if not statuses[-1].startswith("200"):
        raise SystemExit(f"{target} {path} answered {statuses[-1]}")
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            once()
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    started = time.process_time()
    for _ in range(requests):
        once()
    print(json.dumps({"us": (time.process_time() - started) / requests * 1e6}))


def measure(target: str, path: str, args, profile: bool = False) -> float:
    env = {**os.environ}
    if target != "minimal":
        from bench.catalog_bench import django_env

        env.update(django_env(args.database_url, Path("/tmp/request-cpu-media")))
        env["CACHE_URL"] = args.cache_url
        env["ALLOWED_HOSTS"] = "127.0.0.1"
    command = [sys.executable, __file__, "--child", target, path, str(args.requests)] + (
        ["--child-profile"] if profile else []
    )
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    if profile:
        sys.stdout.write("\n".join(line for line in out.stderr.splitlines() if not line.startswith("{")) + "\n")
    return json.loads(out.stdout.strip().splitlines()[-1])["us"]


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        target, path, requests = sys.argv[i + 1], sys.argv[i + 2], int(sys.argv[i + 3])
        child(target, path, requests, "--child-profile" in sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_ceiling")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="also print a cProfile (by own time) of this target")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    from bench.catalog_bench import setup_django

    setup_django(args.database_url, Path("/tmp/request-cpu-media"), args.cache_url)
    import django

    django.setup()
    from catalog.selectors import pack_listed_queryset

    key = pack_listed_queryset().order_by("id").values_list("pack_key", flat=True).first()
    if key is None:
        raise SystemExit("no listed pack in the database: build a catalog first (bench/ceiling.py)")
    targets = {
        "minimal": ("minimal", "/hello"),
        "healthz": ("app", "/healthz"),
        "detail_cached": ("app", f"/api/sticker-packs/{key}"),
        "list_cached": ("app", LIST),
    }
    runs: dict[str, list[float]] = {name: [] for name in targets}
    for round_no in range(1, args.rounds + 1):
        for name, (target, path) in targets.items():
            runs[name].append(measure(target, path, args))
        print(f"  round {round_no}: " + ", ".join(f"{n} {v[-1]:.1f} µs" for n, v in runs.items()), flush=True)
    best = {name: min(values) for name, values in runs.items()}
    ratios = {
        name: round(statistics.median(v / m for v, m in zip(runs[name], runs["minimal"], strict=True)), 2)
        for name in targets
    }
    for name in targets:
        print(f"{name:<14} {best[name]:7.1f} µs CPU per request (best of {args.rounds}), {ratios[name]:.2f}x minimal")
    if args.profile:
        target, path = targets[args.profile]
        measure(target, path, args, profile=True)
    report = {
        "bench": "request_cpu",
        "requests": args.requests,
        "rounds": args.rounds,
        "best_us": best,
        "ratio_to_minimal": ratios,
    }
    print(json.dumps(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

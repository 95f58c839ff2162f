"""How close the read path comes to the hardware: the project's cheapest answers side by side with a
bare WSGI function and a minimal Django app, interleaved in one run, with two load clients.

    .venv/bin/python bench/ceiling.py [--packs 20000] [--skip-build] [--baseline main]
        [--database-url mysql://root@127.0.0.1:3306/packyard_ceiling] [--cache-url redis://127.0.0.1:6379/1]
        [--workers CPUS] [--threads 4] [--concurrency 200] [--duration 5] [--warmup 1] [--rounds 2]
        [--clients wrk,asyncio] [--targets NAME,...] [--json-out FILE]

Targets (each its own gunicorn, config/gunicorn.py with the same workers x threads, all started
before the first measurement and idle while another is measured; before each measurement the
bench waits, up to 15 s, for the machine to go quiet, so a slow target still draining its backlog
does not load the next one):

    bare             bench.ceiling_apps:bare, a WSGI function returning 12 bytes
    minimal          bench.ceiling_apps:minimal, Django with no middleware, one view: the ceiling
                     of any Django code here; every ratio is to this target in the same round
    healthz          GET /healthz of the app
    readyz           GET /readyz of the app
    list_cached      the first page of each sort, anonymous, answered by the read cache
    detail_cached    50 pack details, anonymous, answered by the read cache
    detail_uncached  2,000 random pack details on an app with API_ANONYMOUS_CACHE_SECONDS=0

`--baseline REF` also serves the app targets from REF of this repository (`git archive` into a
temporary directory, same virtualenv, same database and cache), so a branch and its base are
measured in the same run. The app runs with CACHE_URL (Redis, the production topology).

Clients: wrk (Debian; `bin/system-deps bench` installs it) with bench/wrk_paths.lua, one thread,
and the bench's asyncio client (bench/httpload.py, one process). Both share the 2 cores with the
servers; wrk takes much less of them. Each round runs every client over every target in turn
(rounds interleave, so a change in the machine's load hits all targets alike); figures are medians
over rounds, ratios are medians of the per-round ratios.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_bench import (  # noqa: E402
    LIST_PATH,
    SORTS,
    BenchError,
    db_name,
    exit_on_sigterm,
    gunicorn,
    http_get,
    prepare_catalog,
    sample_pack_keys,
    setup_django,
)
from bench.httpload import run_load, summarize  # noqa: E402
from bench.queue_bench import mysql_admin  # noqa: E402

WRK_SCRIPT = ROOT / "bench" / "wrk_paths.lua"
CACHED_DETAILS = 50
UNCACHED_DETAILS = 2_000
REFERENCE = "minimal"
ALL_TARGETS = ("bare", "minimal", "healthz", "readyz", "list_cached", "detail_cached", "detail_uncached")


def machine() -> dict:
    """What the figures were measured on."""
    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    with contextlib.suppress(OSError):
        models = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        info["cpu_model"] = models[0] if models else ""
    with contextlib.suppress(OSError):
        info["memory_mb"] = int(open("/proc/meminfo").readline().split()[1]) // 1024
    with contextlib.suppress(OSError):
        info["loadavg_at_start"] = open("/proc/loadavg").read().split()[:3]
    return info


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run([str(ROOT / "bin" / "system-deps"), "bench"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk not found after bin/system-deps bench")
    return found


def export_tree(ref: str, into: Path) -> Path:
    """The files of `ref` (git archive), with this checkout's collected static files if any."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# --- clients ---------------------------------------------------------------------------------


def wrk_run(wrk: str, port: int, paths: list[str], args, workdir: Path) -> dict:
    paths_file = workdir / f"paths-{port}-{abs(hash(tuple(paths))) % 10**8}.txt"
    if not paths_file.exists():
        paths_file.write_text("\n".join(paths) + "\n")

    def once(seconds: float) -> str:
        command = [
            wrk,
            "-t1",
            f"-c{args.concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
        ]
        command += [f"http://127.0.0.1:{port}", "--", str(paths_file)]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    if args.warmup > 0:
        once(args.warmup)
    out = once(args.duration)
    line = next((x for x in out.splitlines() if x.startswith("CEILING-JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no summary:\n{out}")
    raw = json.loads(line.removeprefix("CEILING-JSON "))
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "errors": errors,
        "error_detail": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]},
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 1),
    }


def asyncio_run(port: int, paths: list[str], args) -> dict:
    result = summarize(
        run_load("127.0.0.1", port, paths, concurrency=args.concurrency, duration=args.duration, warmup=args.warmup)
    )
    return {key: result[key] for key in ("requests", "errors", "error_detail", "rps", "p50_ms", "p95_ms", "p99_ms")}


# --- servers and targets ---------------------------------------------------------------------


def warm(port: int, paths: list[str]) -> None:
    for path in paths:
        status, body = http_get(port, path)
        if status != 200:
            raise BenchError(f"{path} answered HTTP {status}: {body[:300]!r}")


def _busy_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)  # minus idle and iowait


def settle(max_seconds: float = 15.0, quiet_share: float = 0.15) -> float:
    """Wait until the machine is quiet: a server still working through requests a client left in
    its backlog (a slow target at c=200) would otherwise be measured with the next target. Returns
    the seconds waited (at most max_seconds)."""
    started = time.monotonic()
    busy, total = _busy_jiffies()
    while time.monotonic() - started < max_seconds:
        time.sleep(0.25)
        busy2, total2 = _busy_jiffies()
        share = (busy2 - busy) / max(1, total2 - total)
        busy, total = busy2, total2
        if share < quiet_share:
            break
    return time.monotonic() - started


def start_servers(stack: contextlib.ExitStack, trees: dict[str, Path], args, media_root: Path, log: Path) -> dict:
    """{server name: port}: bare, minimal, and per tree `<tree>:app` and `<tree>:nocache`."""
    common = {"workers": args.workers, "threads": args.threads, "cache_url": args.cache_url, "log_path": log}
    url = args.database_url
    ports = {}
    for name in ("bare", "minimal"):
        ports[name] = stack.enter_context(gunicorn(url, media_root, app=f"bench.ceiling_apps:{name}", **common))
    for label, tree in trees.items():
        ports[f"{label}:app"] = stack.enter_context(gunicorn(url, media_root, tree=tree, **common))
        ports[f"{label}:nocache"] = stack.enter_context(
            gunicorn(url, media_root, tree=tree, extra_env={"API_ANONYMOUS_CACHE_SECONDS": "0"}, **common)
        )
    return ports


def targets(trees: dict[str, Path], ports: dict, keys: list[str], wanted: set[str]) -> list[tuple[str, int, list]]:
    lists = [f"{LIST_PATH}?sort={sort}&limit=24" for sort in SORTS]
    cached = [f"{LIST_PATH}/{key}" for key in keys[:CACHED_DETAILS]]
    uncached = [f"{LIST_PATH}/{key}" for key in keys[:UNCACHED_DETAILS]]
    found = [(name, ports[name], ["/hello"]) for name in ("bare", "minimal") if name in wanted]
    for label in trees:
        app, nocache = ports[f"{label}:app"], ports[f"{label}:nocache"]
        for name, port, paths in (
            ("healthz", app, ["/healthz"]),
            ("readyz", app, ["/readyz"]),
            ("list_cached", app, lists),
            ("detail_cached", app, cached),
            ("detail_uncached", nocache, uncached),
        ):
            if name in wanted:
                found.append((f"{label}:{name}", port, paths))
    return found


# --- report ----------------------------------------------------------------------------------


def summarise(runs: dict, clients: list[str]) -> dict:
    """Medians over rounds per client and target, and the median per-round ratio to `minimal`."""
    out = {}
    for client in clients:
        per_target = runs[client]
        reference = per_target.get(REFERENCE, [])
        table = {}
        for target, rounds in per_target.items():
            row = {
                key: round(statistics.median(r[key] for r in rounds), 1)
                for key in ("rps", "p50_ms", "p95_ms", "p99_ms")
            }
            row["errors"] = sum(r["errors"] for r in rounds)
            row["rounds_rps"] = [r["rps"] for r in rounds]
            if reference:
                ratios = [r["rps"] / ref["rps"] for r, ref in zip(rounds, reference, strict=False) if ref["rps"]]
                row["share_of_minimal"] = round(statistics.median(ratios), 3) if ratios else None
            table[target] = row
        out[client] = table
    return out


def print_summary(summary: dict) -> None:
    for client, table in summary.items():
        print(f"\n{client}: median over rounds (share = rps / minimal Django app's rps, same round)")
        header = f"{'target':<26} {'rps':>9} {'share':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>7}"
        print(header)
        print("-" * len(header))
        for target, row in table.items():
            share = row.get("share_of_minimal")
            print(
                f"{target:<26} {row['rps']:>9,.1f} {(f'{share:.0%}' if share is not None else '-'):>7} "
                f"{row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>7,}"
            )
    print("(latencies in ms)")


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument("--items-per-pack", type=int, default=6)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_ceiling")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--skip-build", action="store_true", help="reuse a catalog whose pack count matches")
    parser.add_argument("--baseline", metavar="REF", help="also serve the app targets from this git ref")
    # config/gunicorn.py's defaults: one worker per core (at least 2), 4 threads.
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, default=5, help="seconds measured per target and client")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of load before each measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="wrk,asyncio", help="comma-separated: wrk, asyncio")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS), help="comma-separated subset of the targets")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-procs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    clients = [c for c in args.clients.split(",") if c]
    wanted = {t for t in args.targets.split(",") if t} | {REFERENCE}
    if unknown := (set(clients) - {"wrk", "asyncio"}) | (wanted - set(ALL_TARGETS)):
        parser.error(f"unknown clients/targets: {sorted(unknown)}")
    wrk = ensure_wrk() if "wrk" in clients else ""

    workdir = Path(tempfile.mkdtemp(prefix="ceiling-bench-"))
    media_root = workdir / "media"
    log = workdir / "gunicorn.log"
    info = machine()
    mysql_admin(
        args.database_url, f"CREATE DATABASE IF NOT EXISTS `{db_name(args.database_url)}` CHARACTER SET utf8mb4"
    )
    setup_django(args.database_url, media_root, args.cache_url)
    build = prepare_catalog(
        args.database_url,
        packs=args.packs,
        items_per_pack=args.items_per_pack,
        skip_build=args.skip_build,
        seed=args.seed,
        build_procs=args.build_procs,
    )
    keys = sample_pack_keys(UNCACHED_DETAILS, args.seed)
    from django.db import connections

    connections.close_all()
    trees = {"branch": ROOT}
    if args.baseline:
        trees = {args.baseline: export_tree(args.baseline, workdir / "baseline"), **trees}
    runs: dict[str, dict[str, list]] = {client: {} for client in clients}
    try:
        with contextlib.ExitStack() as stack:
            ports = start_servers(stack, trees, args, media_root, log)
            chosen = targets(trees, ports, keys, wanted)
            for _, port, paths in chosen:
                warm(port, paths[:CACHED_DETAILS])
            print(
                f"{len(chosen)} targets, {args.rounds} rounds x clients {clients}; gunicorn {args.workers} workers x "
                f"{args.threads} threads each; c={args.concurrency}, {args.duration:g} s after {args.warmup:g} s warm-up",
                flush=True,
            )
            for round_no in range(1, args.rounds + 1):
                for client in clients:
                    for name, port, paths in chosen:
                        settle()
                        if client == "wrk":
                            result = wrk_run(wrk, port, paths, args, workdir)
                        else:
                            result = asyncio_run(port, paths, args)
                        runs[client].setdefault(name, []).append(result)
                        print(
                            f"  round {round_no} {client:<7} {name:<26} {result['rps']:>9,.1f} rps  "
                            f"p95 {result['p95_ms']:>7.1f}  p99 {result['p99_ms']:>7.1f} ms  {result['errors']} err",
                            flush=True,
                        )
    finally:
        log_text = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
    summary = summarise(runs, clients)
    print_summary(summary)
    with contextlib.suppress(OSError):
        info["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    report = {
        "bench": "ceiling",
        "machine": info,
        "packs": args.packs,
        "catalog_build": build,
        "trees": list(trees),
        "gunicorn": {"workers": args.workers, "threads": args.threads},
        "concurrency": args.concurrency,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "rounds": args.rounds,
        "summary": summary,
        "runs": runs,
        "gunicorn_log_tail": log_text if any(r["errors"] for c in summary.values() for r in c.values()) else "",
    }
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

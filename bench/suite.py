"""The whole bench suite in one command (`make bench`), written up in docs/benchmarks.md.

    .venv/bin/python bench/suite.py [--only ceiling,catalog,...] [--quick] [--out docs/benchmarks.md]
        [--json-dir bench/out/suite]

Runs, one after the other: the ceiling (bench/ceiling.py, against `main` side by side when
--baseline is given), the catalog at 10k, 100k and 1M packs with the snapshot sweep's cost
(bench/catalog_bench.py --grow; --sizes), the
queue against django-tasks-db, the outbox relay, flags, classification, metrics and upload memory.
Each bench prints its own figures and writes its JSON (kept under --json-dir, git-ignored);
this script writes the machine description, the commands, each bench's summary lines and JSON
into one Markdown file. A bench that fails is reported as failed; the others still run.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ceiling  # noqa: E402

PY = sys.executable
MYSQL = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/packyard_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
# What the figures mean, written by hand: included at the top of docs/benchmarks.md.
NOTES = ROOT / "docs" / "benchmarks" / "notes.md"


def benches(args) -> dict[str, list[str]]:
    quick = args.quick
    ceiling = [PY, "bench/ceiling.py", "--skip-build", "--packs", str(args.ceiling_packs), "--cache-url", REDIS]
    ceiling += ["--rounds", "1" if quick else "2", "--duration", "3" if quick else "5"]
    if args.baseline:
        ceiling += ["--baseline", args.baseline]
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    catalog = [PY, "bench/catalog_bench.py", "--database-url", MYSQL.rsplit("/", 1)[0] + "/packyard_scale", "--grow"]
    catalog += ["--cache-url", REDIS, "--duration", "4" if quick else "8", "--render-cpu", "3", "--sweep-seconds", "20"]
    catalog += ["--packs", str(sizes[0])] + (["--compare", *map(str, sizes[1:])] if len(sizes) > 1 else [])
    return {
        "ceiling": ceiling,
        "catalog": catalog,
        "queue": [
            PY,
            "bench/queue_bench.py",
            *("--tasks", "2000" if quick else "5000"),
            *("--baseline-venv", str(Path(tempfile.gettempdir()) / "dtdb-venv")),  # django-tasks-db, made when missing
        ],
        "relay": [PY, "bench/relay_bench.py", "--events", "2000" if quick else "10000"],
        "flags": [PY, "bench/flags_bench.py"],
        "classification": [PY, "bench/classification_bench.py", "--assets", "100" if quick else "400"],
        "metrics": [PY, "bench/metrics_bench.py"],
        "upload_memory": [PY, "bench/upload_memory_bench.py"],
    }


def machine() -> dict:
    info = ceiling.machine()
    with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
        info["commit"] = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
    return info


def last_json(text: str):
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                return json.loads(line)
    return None


def run(name: str, command: list[str], json_dir: Path) -> dict:
    out = json_dir / f"{name}.json"
    if "--json-out" not in command and name != "flags":
        command = [*command, "--json-out", str(out)]
    print(f"== {name}: {' '.join(command)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    sys.stdout.write(proc.stdout[-4000:])
    data = json.loads(out.read_text()) if out.exists() else last_json(proc.stdout)
    lines = [line for line in proc.stdout.splitlines() if line and not line.startswith("{")]
    return {
        "command": " ".join(c.replace(PY, ".venv/bin/python") for c in command),
        "exit_code": proc.returncode,
        "seconds": seconds,
        "figures": lines[-40:],
        "stderr_tail": proc.stderr[-1500:] if proc.returncode else "",
        "json": data,
    }


def reuse(name: str, command: list[str], log: Path) -> dict:
    """A bench run earlier (a long one, e.g. the 1M catalog): its printed log, JSON the last line."""
    text = log.read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("{")]
    return {
        "command": " ".join(c.replace(PY, ".venv/bin/python") for c in command) + f"  (run earlier; log {log.name})",
        "exit_code": 0,
        "seconds": None,
        "figures": lines[-40:],
        "stderr_tail": "",
        "json": last_json(text),
    }


def ceiling_table(data: dict) -> list[str]:
    rows = [
        "| client | target | rps | share of minimal Django | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for client, table in (data or {}).get("summary", {}).items():
        for target, r in table.items():
            share = r.get("share_of_minimal")
            rows.append(
                f"| {client} | {target} | {r['rps']:,.0f} | {'' if share is None else f'{share:.0%}'} | "
                f"{r['p95_ms']} | {r['p99_ms']} | {r['errors']} |"
            )
    return rows


def write_markdown(path: Path, info: dict, results: dict) -> None:
    text = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (bench/suite.py) at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        "The load clients share the machine's cores with the servers; on a shared machine figures move by "
        "±40 % between runs, so compare ratios measured in the same run (the ceiling's share of the minimal "
        "Django app) before absolute figures.",
        "",
        *([NOTES.read_text(), ""] if NOTES.exists() else []),
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "",
    ]
    for name, result in results.items():
        text += [f"## {name}", "", f"`{result['command']}` — exit {result['exit_code']}, {result['seconds']} s", ""]
        if name == "ceiling" and result["json"]:
            text += ceiling_table(result["json"]) + [""]
        text += ["```", *result["figures"], "```", ""]
        if result["stderr_tail"]:
            text += ["stderr (tail):", "", "```", result["stderr_tail"], "```", ""]
        text += [
            "<details><summary>JSON</summary>",
            "",
            "```json",
            json.dumps(result["json"], indent=1)[:60000],
            "```",
            "",
            "</details>",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated subset of the benches")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--baseline", help="the ceiling also serves this git ref (e.g. main)")
    parser.add_argument("--ceiling-packs", type=int, default=20_000)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="catalog sizes (one database, grown)")
    parser.add_argument(
        "--reuse", action="append", default=[], metavar="NAME=LOG", help="take NAME's figures from an earlier run's log"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json-dir", type=Path, default=ROOT / "bench" / "out" / "suite")
    args = parser.parse_args()
    chosen = benches(args)
    if args.only:
        wanted = args.only.split(",")
        if unknown := set(wanted) - set(chosen):
            parser.error(f"unknown benches: {sorted(unknown)}")
        chosen = {name: chosen[name] for name in wanted}
    args.json_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    reused = dict(item.split("=", 1) for item in args.reuse)
    results = {
        name: reuse(name, command, Path(reused[name])) if name in reused else run(name, command, args.json_dir)
        for name, command in chosen.items()
    }
    write_markdown(args.out, info, results)
    (args.json_dir / "suite.json").write_text(json.dumps({"machine": info, "results": results}, indent=1))
    print(f"wrote {args.out}")
    failed = [name for name, r in results.items() if r["exit_code"]]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

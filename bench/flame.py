"""A flame graph of one gunicorn worker under load: where a request's CPU goes.

    .venv/bin/python bench/flame.py [--target detail_cached|detail_uncached|list_cached|healthz]
        [--ref main] [--seconds 10] [--workers 4] [--threads 4] [--out docs/benchmarks/flame-TARGET.svg]

Serves the catalog of bench/ceiling.py's database (build it there first) with config/gunicorn.py
and Redis, loads it with wrk at c=200 (bench/wrk_paths.lua) and records one worker with py-spy
(PyPI, requirements-dev.txt) for --seconds: an SVG flame graph (--idle off, so only CPU shows).
`--ref main` serves that git ref instead (the before picture; same database and cache).
"""

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_bench import LIST_PATH, SORTS, gunicorn, sample_pack_keys, setup_django  # noqa: E402
from bench.ceiling import WRK_SCRIPT, ensure_wrk, export_tree, warm  # noqa: E402


def gunicorn_workers(port: int) -> list[int]:
    """Pids of the workers of the gunicorn bound to `port` (found by GUNICORN_BIND in /proc)."""
    bind = f"GUNICORN_BIND=127.0.0.1:{port}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if bind in (proc / "environ").read_bytes().split(b"\0"):
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                found.append((int(proc.name), parent))
        except OSError:
            continue
    pids = {pid for pid, _ in found}
    return sorted(pid for pid, parent in found if parent in pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="detail_uncached")
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_ceiling")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--ref", help="serve this git ref instead of the checkout (e.g. main: the before)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    suffix = f"-{args.ref.replace('/', '-')}" if args.ref else ""
    out = args.out or ROOT / "docs" / "benchmarks" / f"flame-{args.target}{suffix}.svg"
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="flame-bench-"))
    setup_django(args.database_url, workdir / "media", args.cache_url)
    keys = sample_pack_keys(2_000, 1)
    paths = {
        "healthz": ["/healthz"],
        "list_cached": [f"{LIST_PATH}?sort={sort}&limit=24" for sort in SORTS],
        "detail_cached": [f"{LIST_PATH}/{key}" for key in keys[:50]],
        "detail_uncached": [f"{LIST_PATH}/{key}" for key in keys],
    }[args.target]
    extra = {"API_ANONYMOUS_CACHE_SECONDS": "0"} if args.target == "detail_uncached" else {}
    tree = export_tree(args.ref, workdir / "tree") if args.ref else ROOT
    paths_file = workdir / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    with gunicorn(
        args.database_url,
        workdir / "media",
        workers=args.workers,
        threads=args.threads,
        cache_url=args.cache_url,
        log_path=workdir / "gunicorn.log",
        extra_env=extra,
        tree=tree,
    ) as port:
        warm(port, paths[:50])
        load = threading.Thread(
            target=subprocess.run,
            args=([wrk, "-t1", f"-c{args.concurrency}", f"-d{args.seconds + 4}s", "-s", str(WRK_SCRIPT),
                   f"http://127.0.0.1:{port}", "--", str(paths_file)],),
            kwargs={"capture_output": True},
        )  # fmt: skip
        load.start()
        time.sleep(2)
        worker = gunicorn_workers(port)[0]
        out.parent.mkdir(parents=True, exist_ok=True)
        spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(worker), "--duration"]
        spy += [str(args.seconds), "--rate", "100", "--format", "flamegraph", "--output", str(out), "--nonblocking"]
        subprocess.run(spy, check=True)
        load.join()
    print(f"flame graph of worker {worker} ({args.target}, {args.seconds} s under wrk c={args.concurrency}): {out}")


if __name__ == "__main__":
    main()

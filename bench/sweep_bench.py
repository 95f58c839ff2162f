"""The snapshot sweep's refresh pass, this checkout against a git ref, interleaved in one run.

    .venv/bin/python bench/sweep_bench.py --database-url mysql://root@127.0.0.1:3306/packyard_scale
        [--baseline REF] [--cache-url redis://127.0.0.1:6379/1] [--rounds 3] [--batches 4] [--json-out FILE]

On an existing catalog (bench/catalog_bench.py builds one): each round refreshes the same
`--batches` sweep batches (SWEEP_BATCH_SIZE listed packs each, taken from a different place in the
catalog every round) with REF's `catalog/services/snapshots.py` and with this checkout's, in turn,
and prints rows/s of each, their ratio (median over rounds) and the full sweep that rate projects
for the catalog's listed packs. Only that module is swapped: the rest of the code is this
checkout's. Writes are real (the snapshots are upserted), as in the sweep.
"""

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_bench import setup_django  # noqa: E402

MODULE = "catalog/services/snapshots.py"


def load_ref_module(ref: str, workdir: Path):
    source = subprocess.run(["git", "show", f"{ref}:{MODULE}"], cwd=ROOT, check=True, capture_output=True).stdout
    path = workdir / "snapshots_baseline.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("snapshots_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed_refresh(module, batches: list[list[int]]) -> float:
    from django.db import transaction

    start = time.perf_counter()
    rows = 0
    for ids in batches:
        with transaction.atomic():  # as the sweep's task runs: its cache generations move at commit
            rows += module.snapshot_refresh(ids)["refreshed"]
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--baseline", default="HEAD", help="git ref whose snapshots module is the baseline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    setup_django(args.database_url, workdir / "media", args.cache_url)
    import django

    django.setup()
    from catalog import selectors
    from catalog.services import snapshots

    baseline = load_ref_module(args.baseline, workdir)
    listed = list(selectors.pack_listed_queryset().order_by("id").values_list("id", flat=True))
    size = snapshots.SWEEP_BATCH_SIZE
    span = size * args.batches
    if len(listed) < span * args.rounds:
        raise SystemExit(f"the catalog lists {len(listed):,} packs: fewer than {span * args.rounds:,} to refresh")
    step = len(listed) // args.rounds
    figures: dict[str, list[float]] = {"baseline": [], "branch": []}
    ratios = []
    for round_no in range(args.rounds):
        chunk = listed[round_no * step : round_no * step + span]
        batches = [chunk[i : i + size] for i in range(0, span, size)]
        old = timed_refresh(baseline, batches)
        new = timed_refresh(snapshots, batches)
        figures["baseline"].append(old)
        figures["branch"].append(new)
        ratios.append(new / old)
        print(f"  round {round_no + 1}: {args.baseline} {old:,.0f} rows/s, branch {new:,.0f} rows/s ({new / old:.2f}x)")
    report = {
        "bench": "snapshot_sweep",
        "listed_packs": len(listed),
        "batch_size": size,
        "rows_per_round": span,
        "baseline_ref": args.baseline,
        "rows_per_second": {k: round(statistics.median(v), 1) for k, v in figures.items()},
        "ratio": round(statistics.median(ratios), 2),
    }
    report["projected_full_sweep_seconds"] = {
        k: round(len(listed) / v, 1) for k, v in report["rows_per_second"].items()
    }
    print(
        f"snapshot refresh over {len(listed):,} listed packs: {args.baseline} {report['rows_per_second']['baseline']:,.0f}"
        f" rows/s, branch {report['rows_per_second']['branch']:,.0f} rows/s, ratio {report['ratio']}x; full sweep "
        f"~{report['projected_full_sweep_seconds']['baseline']:,.0f} s -> "
        f"~{report['projected_full_sweep_seconds']['branch']:,.0f} s"
    )
    print(json.dumps(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

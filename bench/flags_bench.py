"""Cost of a warm feature-flag check (target <= 5 us).

    .venv/bin/python bench/flags_bench.py [--iterations N]

Runs against a throwaway SQLite database with the seeded flags; prints figures and a JSON line.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=200_000)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="flags-bench-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "PACKYARD_ENV_FILE": "",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from flags.services import flag_set, is_enabled

    flag_set(name="enable_worker_dedicated_processes", is_enabled=True, rollout_percent=30)
    cases = {
        "full_rollout": ("enable_ranking_snapshot_read", "viewer:1"),
        "partial_rollout": ("enable_worker_dedicated_processes", "task:1"),
        "missing_flag_env_fallback": ("not_a_flag", "x"),
    }
    results = {}
    for label, (name, subject) in cases.items():
        is_enabled(name, subject_key=subject)  # warm
        start = time.perf_counter()
        for _ in range(args.iterations):
            is_enabled(name, subject_key=subject)
        elapsed = time.perf_counter() - start
        results[label] = round(elapsed / args.iterations * 1e6, 3)
        print(f"warm check ({label}): {results[label]:.3f} us/check over {args.iterations:,} checks")
    print(json.dumps({"bench": "flags", "iterations": args.iterations, "us_per_warm_check": results}))


if __name__ == "__main__":
    main()

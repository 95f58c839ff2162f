"""Lighthouse on the demo catalog's browse and pack pages, served as in production.

    .venv/bin/python bench/lighthouse_bench.py [--runs 3] [--form-factors mobile desktop]
        [--json-out FILE]

Builds the demo catalog (`seed_demo`) in a fresh SQLite database, runs `collectstatic`, starts
gunicorn with DEBUG off (WhiteNoise serves the static files) on a free loopback port, and runs
Lighthouse (npm `lighthouse`, pinned in bench/lighthouse/package-lock.json and installed there by
this script) with Debian's chromium (`CHROME_PATH=/usr/bin/chromium`) against `/` and the
demo pack with the most stickers. Each page and form factor is measured `--runs` times; the
median of each figure is reported: the performance, accessibility and best-practices scores
(0-100), LCP (ms) and CLS. Targets: every score >= 90, CLS < 0.05.

Mobile is Lighthouse's default (simulated slow 4G and a 4x CPU slowdown), desktop its
`--preset=desktop`. Lighthouse, gunicorn and chromium share the machine's cores with whatever
else runs there, so the figures move a little from run to run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_bench import django_env, gunicorn, http_get  # noqa: E402

TOOLS = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = TOOLS / "node_modules" / ".bin" / "lighthouse"
CHROME = "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGET_SCORE = 90
TARGET_CLS = 0.05


def ensure_lighthouse() -> None:
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS, check=True)


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def largest_demo_pack(port: int) -> str:
    status, body = http_get(port, "/api/sticker-packs?limit=60")
    if status != 200:
        raise SystemExit(f"the pack list answered {status}")
    packs = json.loads(body)["data"]
    return max(packs, key=lambda p: (p["sticker_count"], p["pack_key"]))["web_url"]


def lighthouse(url: str, form_factor: str, out: Path) -> dict:
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={out}",
        f"--chrome-flags={CHROME_FLAGS}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--quiet",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROME}, timeout=300)
    report = json.loads(out.read_text())
    failing = [
        f"{key} ({audit.get('displayValue') or audit['score']})"
        for key, audit in report["audits"].items()
        if audit.get("score") is not None and audit["score"] < 0.9 and audit.get("scoreDisplayMode") == "binary"
    ]
    return {
        **{name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES},
        "lcp_ms": round(report["audits"]["largest-contentful-paint"]["numericValue"]),
        "cls": round(report["audits"]["cumulative-layout-shift"]["numericValue"], 4),
        "failing_audits": failing,
    }


def median_of(runs: list[dict]) -> dict:
    summary = {key: statistics.median(run[key] for run in runs) for key in (*CATEGORIES, "lcp_ms", "cls")}
    summary["failing_audits"] = sorted({audit for run in runs for audit in run["failing_audits"]})
    summary["meets_targets"] = all(summary[name] >= TARGET_SCORE for name in CATEGORIES) and summary["cls"] < TARGET_CLS
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page and form factor (median)")
    parser.add_argument("--form-factors", nargs="+", choices=("mobile", "desktop"), default=["mobile", "desktop"])
    parser.add_argument("--json-out", type=Path, default=ROOT / "bench" / "out" / "lighthouse.json")
    args = parser.parse_args()
    if not Path(CHROME).exists():
        raise SystemExit(f"{CHROME} is missing: run bin/system-deps build test")
    ensure_lighthouse()

    work = Path(tempfile.mkdtemp(prefix="packyard-lighthouse-"))
    reports = args.json_out.parent / "lighthouse"
    reports.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{work / 'demo.sqlite3'}"
    env = django_env(database_url, work / "media")
    try:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "seed_demo")
        with gunicorn(
            database_url, work / "media", workers=2, threads=2, cache_url="", log_path=work / "web.log"
        ) as port:
            base = f"http://127.0.0.1:{port}"
            pages = {"browse": "/", "pack": largest_demo_pack(port)}
            results = {}
            for page, path in pages.items():
                for form_factor in args.form_factors:
                    runs = [
                        lighthouse(base + path, form_factor, reports / f"{page}-{form_factor}-{n}.json")
                        for n in range(1, args.runs + 1)
                    ]
                    results[f"{page}/{form_factor}"] = {"path": path, "runs": runs, "median": median_of(runs)}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    version = json.loads((TOOLS / "package.json").read_text())["devDependencies"]["lighthouse"]
    print(f"Lighthouse {version}, median of {args.runs} run(s) each; 2 shared cores with other processes running")
    print(f"{'page':<18}{'perf':>6}{'a11y':>6}{'best':>6}{'LCP ms':>9}{'CLS':>8}  targets")
    for name, result in results.items():
        m = result["median"]
        print(
            f"{name:<18}{m['performance']:>6}{m['accessibility']:>6}{m['best-practices']:>6}"
            f"{m['lcp_ms']:>9}{m['cls']:>8}  {'met' if m['meets_targets'] else 'MISSED'}"
        )
        if m["failing_audits"]:
            print(f"{'':<18}failing audits: {', '.join(m['failing_audits'])}")
    report = {"bench": "lighthouse", "runs": args.runs, "results": results}
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2))
    print(json.dumps({name: result["median"] for name, result in results.items()}))
    return 0 if all(result["median"]["meets_targets"] for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

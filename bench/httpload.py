"""Closed-loop HTTP/1.1 load over several client processes (the client itself: ops/loadclient.py).

    .venv/bin/python bench/httpload.py --port 8000 [--concurrency 200] [--duration 10] [--procs 2] /healthz ...

Each of `concurrency` connections sends one GET, reads the whole response (Content-Length,
chunked, or until close), records the latency and sends the next one; paths are taken in turn
from the list given. Requests that start in the warm-up are not counted. Used by
bench/catalog_bench.py; prints a JSON summary when run on its own.
"""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import cycle
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.loadclient import Connection, closed_loop, percentile  # noqa: E402


@dataclass
class ShardResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    body_bytes: int = 0
    connections_opened: int = 0
    window_seconds: float = 0.0

    def record(self, path, started, latency_ms, status, error, body_bytes) -> None:
        self.latencies_ms.append(latency_ms)
        if error is not None:
            self.exceptions[type(error).__name__] += 1
        else:
            self.statuses[status] += 1
            self.body_bytes += body_bytes

    def merge(self, other: "ShardResult") -> None:
        self.latencies_ms += other.latencies_ms
        self.statuses.update(other.statuses)
        self.exceptions.update(other.exceptions)
        self.body_bytes += other.body_bytes
        self.connections_opened += other.connections_opened
        self.window_seconds = max(self.window_seconds, other.window_seconds)


async def _run_shard(
    host: str, port: int, paths: list[str], concurrency: int, start_at: float, warmup: float, duration: float, timeout
) -> ShardResult:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    path_cycle = cycle(paths)
    result = ShardResult(window_seconds=duration)
    connections = [Connection(host, port) for _ in range(concurrency)]
    await asyncio.gather(
        *(
            closed_loop(conn, lambda: next(path_cycle), measure_from, stop_at, timeout, result.record)
            for conn in connections
        )
    )
    result.connections_opened = sum(conn.opened for conn in connections)
    return result


def run_shard(host, port, paths, concurrency, start_at, warmup, duration, timeout) -> ShardResult:
    return asyncio.run(_run_shard(host, port, paths, concurrency, start_at, warmup, duration, timeout))


def rotate(items: list, start: int) -> list:
    return items[start:] + items[:start]


def run_load(
    host: str,
    port: int,
    paths: list[str],
    *,
    concurrency: int,
    duration: float,
    warmup: float = 2.0,
    procs: int = 1,
    timeout: float = 30.0,
) -> ShardResult:
    """Closed loop over `paths` with `concurrency` connections split across `procs` processes."""
    procs = max(1, min(procs, concurrency))
    if procs == 1:
        return run_shard(host, port, paths, concurrency, time.monotonic(), warmup, duration, timeout)
    start_at = time.monotonic() + 2.0  # time for the spawned interpreters to start
    shares = [concurrency // procs + (i < concurrency % procs) for i in range(procs)]
    merged = ShardResult()
    with ProcessPoolExecutor(max_workers=procs, mp_context=get_context("spawn")) as pool:
        futures = [
            # Each process starts at a different point of the path list.
            pool.submit(
                run_shard,
                host,
                port,
                rotate(paths, i * len(paths) // procs),
                share,
                start_at,
                warmup,
                duration,
                timeout,
            )
            for i, share in enumerate(shares)
        ]
        for future in futures:
            merged.merge(future.result())
    return merged


def summarize(result: ShardResult) -> dict:
    values = sorted(result.latencies_ms)
    requests = len(values)
    ok = sum(count for status, count in result.statuses.items() if 200 <= status < 300)
    error_detail = {str(status): count for status, count in result.statuses.items() if not 200 <= status < 300}
    error_detail.update(result.exceptions)
    return {
        "requests": requests,
        "errors": requests - ok,
        "error_detail": error_detail,
        "rps": round(requests / result.window_seconds, 1) if result.window_seconds else 0.0,
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(values[-1], 1) if values else 0.0,
        "mean_ms": round(sum(values) / requests, 1) if requests else 0.0,
        "avg_body_bytes": round(result.body_bytes / requests) if requests else 0,
        "connections_opened": result.connections_opened,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--procs", type=int, default=1)
    args = parser.parse_args()
    result = run_load(
        args.host,
        args.port,
        args.paths,
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        procs=args.procs,
    )
    print(json.dumps(summarize(result)))


if __name__ == "__main__":
    main()

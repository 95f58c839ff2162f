"""Closed-loop HTTP/1.1 load client: asyncio, raw keep-alive sockets, optional extra processes.

    .venv/bin/python bench/httpload.py --port 8000 [--concurrency 200] [--duration 10] [--procs 2] /healthz ...

Each of `concurrency` connections sends one GET, reads the whole response (Content-Length,
chunked, or until close), records the latency and sends the next one; paths are taken in turn
from the list given. Requests that start in the warm-up are not counted. Used by
bench/catalog_bench.py; prints a JSON summary when run on its own.
"""

import argparse
import asyncio
import json
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import cycle
from multiprocessing import get_context

READ_LIMIT = 1 << 20


class ConnectionClosed(Exception):
    """The server closed a kept-alive connection before sending any byte of the response."""


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response: (status, lower-cased headers, body). Sets headers["connection"] to "close"
    when the connection cannot be reused."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ConnectionClosed from exc
        raise
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    version, status_text = status_line.split(" ", 2)[:2]
    status = int(status_text)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
        headers["connection"] = "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await reader.read()
        headers["connection"] = "close"
    return status, headers, body


class Connection:
    """A keep-alive connection that reopens itself when the server has closed it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=READ_LIMIT)
        self.opened += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def _send(self, path: str) -> tuple[int, dict[str, str], bytes]:
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nConnection: keep-alive\r\n"
            "Accept: application/json\r\nAccept-Encoding: identity\r\n\r\n".encode("latin-1")
        )
        await self.writer.drain()
        return await read_response(self.reader)

    async def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        reused = self.writer is not None
        if not reused:
            await self._open()
        try:
            response = await self._send(path)
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            # A reused connection the server had already closed: retry once on a new one.
            self.close()
            if not reused:
                raise
            await self._open()
            response = await self._send(path)
        if response[1].get("connection", "").lower() == "close":
            self.close()
        return response


REQUEST_ERRORS = (
    OSError,
    ConnectionClosed,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    TimeoutError,
    ValueError,
)


@dataclass
class ShardResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    body_bytes: int = 0
    connections_opened: int = 0
    window_seconds: float = 0.0

    def merge(self, other: "ShardResult") -> None:
        self.latencies_ms += other.latencies_ms
        self.statuses.update(other.statuses)
        self.exceptions.update(other.exceptions)
        self.body_bytes += other.body_bytes
        self.connections_opened += other.connections_opened
        self.window_seconds = max(self.window_seconds, other.window_seconds)


async def _connection_loop(conn: Connection, next_path, measure_from: float, stop_at: float, timeout: float, result):
    while (started := time.monotonic()) < stop_at:
        path = next_path()
        try:
            status, _, body = await asyncio.wait_for(conn.get(path), timeout)
        except REQUEST_ERRORS as exc:
            conn.close()
            if started >= measure_from:
                result.latencies_ms.append((time.monotonic() - started) * 1000)
                result.exceptions[type(exc).__name__] += 1
            await asyncio.sleep(0.01)  # no busy loop against a server that refuses connections
            continue
        if started >= measure_from:
            result.latencies_ms.append((time.monotonic() - started) * 1000)
            result.statuses[status] += 1
            result.body_bytes += len(body)
    conn.close()


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
            _connection_loop(conn, lambda: next(path_cycle), measure_from, stop_at, timeout, result)
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


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


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

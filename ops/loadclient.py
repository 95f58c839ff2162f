"""Closed-loop HTTP/1.1 load client: asyncio, raw keep-alive sockets (http or https).

Each connection sends one GET, reads the whole response (Content-Length, chunked, or until
close), reports it and sends the next one. Used by `manage.py loadtest` (ops.loadtest) and the
benches (bench/httpload.py). Imports nothing of Django, so spawned client processes start fast.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable

READ_LIMIT = 1 << 20


class ConnectionClosed(Exception):
    """The server closed a kept-alive connection before sending any byte of the response."""


class ConnectFailed(OSError):
    """No connection could be opened (refused, unreachable, name not found)."""


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

    def __init__(self, host: str, port: int, *, tls: bool = False, host_header: str | None = None):
        self.host, self.port = host, port
        self.tls = ssl.create_default_context() if tls else None
        self.host_header = host_header or host
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def _open(self) -> None:
        try:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=READ_LIMIT, ssl=self.tls
            )
        except OSError as exc:
            raise ConnectFailed(exc.errno, f"{type(exc).__name__}: {exc}") from exc
        self.opened += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def _send(self, path: str) -> tuple[int, dict[str, str], bytes]:
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host_header}\r\nConnection: keep-alive\r\n"
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

# record(path, started (monotonic), latency_ms, status or None, error or None, body bytes)
Recorder = Callable[[str, float, float, int | None, BaseException | None, int], None]


async def closed_loop(
    conn: Connection,
    next_path: Callable[[], str],
    measure_from: float,
    stop_at: float,
    timeout: float,
    record: Recorder,
) -> None:
    """Send requests one after another on `conn` until `stop_at`; those that start at or after
    `measure_from` are recorded. Failed connections back off (up to 1 s) instead of spinning."""
    failures = 0
    while (started := time.monotonic()) < stop_at:
        path = next_path()
        try:
            status, _, body = await asyncio.wait_for(conn.get(path), timeout)
        except REQUEST_ERRORS as exc:
            conn.close()
            if started >= measure_from:
                record(path, started, (time.monotonic() - started) * 1000, None, exc, 0)
            failures += 1
            await asyncio.sleep(min(1.0, 0.01 * 2 ** min(failures, 7)))
            continue
        failures = 0
        if started >= measure_from:
            record(path, started, (time.monotonic() - started) * 1000, status, None, len(body))
    conn.close()


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]

"""Start and stop the loopback S3 server (tests/s3server/server.js) from Python.

    server = S3Server(directory, buckets=["packyard-test"]).start()
    server.endpoint_url  # http://127.0.0.1:<port chosen by the OS>
    server.stop(); server.start()  # same port and data: a store that went away and came back

`make test` installs its npm package (`make s3server`); without it, start() says how to.
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "server.js"
PACKAGE = HERE / "node_modules" / "@20minutes" / "s3rver"
ACCESS_KEY = SECRET_KEY = "S3RVER"  # s3rver's built-in account
REGION = "us-east-1"


class S3ServerError(RuntimeError):
    pass


class S3Server:
    def __init__(self, directory: Path, *, buckets: list[str], startup_timeout: float = 60.0):
        self.directory = Path(directory)
        self.buckets = list(buckets)
        self.startup_timeout = startup_timeout
        self.port = 0  # 0 until the first start: then the OS-chosen port, reused by restarts
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "S3Server":
        node = shutil.which("node")
        if node is None or not PACKAGE.exists():
            raise S3ServerError("the test S3 server is not installed: run `make s3server` (needs node and npm)")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [node, str(SCRIPT), "--directory", str(self.directory), "--port", str(self.port)]
        for bucket in self.buckets:
            args += ["--bucket", bucket]
        deadline = time.monotonic() + self.startup_timeout
        while True:
            log = self.directory.parent / f"{self.directory.name}-server.log"
            with open(log, "ab") as log_file:
                # stdin stays open while we live: the server exits when it closes (we died).
                self.proc = subprocess.Popen(
                    args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, text=True
                )
            line = self.proc.stdout.readline()
            if line:
                self.port = int(json.loads(line)["port"])
                return self
            self.proc.wait(timeout=10)
            error = log.read_text(errors="replace")
            # A restart on the old port can race its release: try again for a while.
            if "EADDRINUSE" not in error or time.monotonic() > deadline:
                raise S3ServerError(f"the S3 server did not start: {error[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.proc = None

"""Run the server in a child process: used by the tests, by evaluation and by training's quick evaluation.

    with ServerProcess(models=["aletheia-base"]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="none")
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when the parent dies, so a killed test run leaves no server."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ServerProcess:
    """``python -m server`` on a free loopback port; ready once ``/health`` answers 200."""

    def __init__(
        self,
        models: list[str] | None = None,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        startup_timeout: float = 180.0,
        log_path: str | Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.models = models or []
        self.extra_args = extra_args or []
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (ends in /v1)."""
        return f"{self.url}/v1"

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port)]
        for m in self.models:
            cmd += ["--model", m]
        cmd += self.extra_args
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} during start-up: {' '.join(cmd)}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"server not healthy after {self.startup_timeout:.0f}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

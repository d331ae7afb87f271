"""Servers evaluation starts for itself: ours (``server.process.ServerProcess``) and any other
OpenAI-compatible server command (e.g. ``python -m llama_cpp.server``) via ``ExternalServer``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

from server.process import die_with_parent, free_port

__all__ = ["ExternalServer", "free_port", "list_models"]


class ExternalServer:
    """Runs ``cmd`` (which must listen on ``port``) until ``GET /v1/models`` answers 200."""

    def __init__(
        self, cmd: list[str], port: int, startup_timeout: float = 180.0, log_path: str | Path | None = None
    ):
        self.cmd, self.port, self.startup_timeout = cmd, port, startup_timeout
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"exited with {self.proc.returncode} during start-up: {' '.join(self.cmd)}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.__exit__()
        raise TimeoutError(f"not ready after {self.startup_timeout:.0f}s: {' '.join(self.cmd)}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class ServerUnreachable(SystemExit):
    """The --base-url given does not answer as an OpenAI API: says what is wrong, without a traceback."""


def list_models(base_url: str, api_key: str = "none") -> list[str]:
    """The model ids served at ``base_url`` (an OpenAI base URL, ending in /v1)."""
    import json

    url = f"{base_url.rstrip('/')}/models"
    root = base_url.rstrip("/")
    hint = "" if root.endswith("/v1") else f" (an OpenAI base URL ends in /v1: try {root}/v1)"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as exc:
        raise ServerUnreachable(f"GET {url} answered HTTP {exc.code}{hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerUnreachable(f"cannot reach {url}: {reason}{hint}") from None
    except ValueError:
        raise ServerUnreachable(f"GET {url} did not answer JSON{hint}") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ServerUnreachable(f"GET {url} did not answer an OpenAI model list{hint}")
    return [m["id"] for m in body["data"] if isinstance(m, dict) and "id" in m]

"""The images' HEALTHCHECK script: healthy when the real server's /health answers 200, unhealthy when nothing
listens on the port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit

from .files import DEPLOY

SCRIPT = DEPLOY / "docker" / "healthcheck.py"


def _healthcheck(port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALETHEIA_PORT": str(port)}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30,
                          check=False)


def test_healthy_when_the_server_is_ready(llm_server):
    proc = _healthcheck(urlsplit(llm_server.url).port)
    assert proc.returncode == 0, proc.stderr


def test_unhealthy_when_nothing_listens():
    with socket.socket() as s:  # a port that was free a moment ago, now closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _healthcheck(port)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port}/health" in proc.stderr

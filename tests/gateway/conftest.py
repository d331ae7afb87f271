"""Fixtures for the gateway tests: one shared server with an admin key, two served model ids and an A/B
experiment over them, on a SQLite ledger of its own; clients and helpers around it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
import sqlalchemy as sa

from server.process import ServerProcess
from server.registry import bundled_model_path

ADMIN_KEY = "admin-secret-456"
EXPERIMENT = "ops-ab"
ROOT = Path(__file__).resolve().parents[2]


def model_args() -> list[str]:
    """The bundled weights served under two ids, as a shipped and a newly trained model would be."""
    path = str(bundled_model_path())
    return ["--model", f"ops-v1={path}", "--model", f"ops-v2={path}"]


@pytest.fixture(scope="session")
def gateway_db(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('gateway') / 'gateway.sqlite'}"


@pytest.fixture(scope="session")
def gateway_server(tmp_path_factory, gateway_db):
    log = tmp_path_factory.mktemp("gateway-server") / "server.log"
    empty = tmp_path_factory.mktemp("no-trained-models")
    with ServerProcess(
        extra_args=[*model_args(), "--models-dir", str(empty), "--api-key", ADMIN_KEY, "--parallel", "4",
                    "--ctx-size", "1024", "--database-url", gateway_db, "--key-cache-seconds", "0",
                    "--experiment", f"{EXPERIMENT}=ops-v1:1,ops-v2:1"],
        log_path=log,
    ) as srv:
        srv.log = log
        srv.database_url = gateway_db
        yield srv


@pytest.fixture(scope="session")
def admin_http(gateway_server) -> httpx.Client:
    with httpx.Client(base_url=gateway_server.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                      timeout=120) as client:
        yield client


@pytest.fixture(scope="session")
def new_key(admin_http):
    """Make a key through the admin API: ``new_key(owner, **limits) -> (secret, record)``."""

    def make(owner: str, **limits) -> tuple[str, dict]:
        r = admin_http.post("/v1/admin/keys", json={"owner": owner, **limits})
        assert r.status_code == 200, r.text
        body = r.json()
        return body.pop("key"), body

    return make


def client_for(server: ServerProcess, key: str, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=120, **kw)


def aclient_for(server: ServerProcess, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=300)


def ledger_rows(database_url: str, where: str = "1=1", **params) -> list[dict]:
    """The ledger's rows, read the way an operator would, with plain SQL on the store."""
    db = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.text(f"SELECT * FROM gateway_ledger WHERE {where} ORDER BY id"), params)]
    finally:
        db.dispose()


def wait_for_rows(database_url: str, count: int, where: str, timeout: float = 60.0, **params) -> list[dict]:
    """Poll until ``count`` rows match (a cut stream's row is written once the server notices the hang-up)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = ledger_rows(database_url, where, **params)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def keys_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "server", "keys", *args], check=False, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc

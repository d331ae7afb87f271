"""Fixtures for the server tests: openai clients on the shared server, and a tight second server."""

from __future__ import annotations

import json

import openai
import pytest

from server.process import ServerProcess
from server.registry import bundled_model_path

API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def client(llm_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="unused", max_retries=0, timeout=600)


@pytest.fixture
async def aclient(llm_server):
    """An async client on the session's event loop, closed after its test. Never leave one unclosed: the SDK
    closes a garbage-collected client from a finalizer on whatever loop is running, after its sockets were
    already closed, and unregisters whichever live connection reused their file descriptors (the request
    that lost its response in issue 14; tests/server/test_lost_request.py)."""
    async with openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="unused", max_retries=0,
                                  timeout=600) as client:
        yield client


@pytest.fixture(scope="session")
def trained_models_dir(tmp_path_factory):
    """Two 'trained' models in the layout training writes (the bundled weights stand in for tuned ones)."""
    root = tmp_path_factory.mktemp("models")
    for name, created in [("ops-v1", "2026-01-01T00:00:00+00:00"), ("ops-v2", "2026-02-01T00:00:00+00:00")]:
        folder = root / name
        folder.mkdir()
        (folder / "model.gguf").symlink_to(bundled_model_path())
        (folder / "manifest.json").write_text(json.dumps({"name": name, "created": created, "gguf": "model.gguf"}))
    broken = root / "broken"
    broken.mkdir()
    (broken / "model.gguf").touch()
    (broken / "manifest.json").write_text("{not json")
    return root


@pytest.fixture(scope="session")
def tight_server(tmp_path_factory, trained_models_dir):
    """One slot, a wait queue of one, an API key, trained models, JSON strings capped at 12 characters: for
    queueing, auth, registry and setting tests."""
    log = tmp_path_factory.mktemp("tight") / "server.log"
    with ServerProcess(
        extra_args=["--parallel", "1", "--queue-size", "1", "--api-key", API_KEY, "--ctx-size", "2048",
                    "--models-dir", str(trained_models_dir), "--max-body-bytes", "100000",
                    "--cors-origin", "http://localhost:3000", "--json-max-string", "12"],
        log_path=log,
    ) as srv:
        yield srv


@pytest.fixture
def tight_client(tight_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=tight_server.base_url, api_key=API_KEY, max_retries=0, timeout=600)

"""Models, health, metrics, the model registry, queueing and cancellation."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest

from server.process import free_port
from server.registry import discover

MODEL = "aletheia-base"
LONG = [{"role": "user", "content": "Write a very long essay about every Linux filesystem you know."}]


def _metric(url: str, name: str, labels: str = "") -> float:
    text = httpx.get(f"{url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (not labels or labels in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_models_endpoints(client):
    """The session server runs with `make serve`'s defaults: the base, and the shipped adapter under its id and
    as `aletheia`."""
    ids = [m.id for m in client.models.list().data]
    assert ids == [MODEL, "aletheia-release", "aletheia"]
    assert client.models.retrieve(MODEL).id == MODEL


def test_health_and_metrics(llm_server, client):
    assert httpx.get(f"{llm_server.url}/health").json()["status"] == "ok"
    before = _metric(llm_server.url, "aletheia_requests_total", 'endpoint="/v1/chat/completions",status="200"')
    client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=3)
    text = httpx.get(f"{llm_server.url}/metrics").text
    for name in ["aletheia_time_to_first_token_seconds_bucket", "aletheia_inter_token_latency_seconds_bucket",
                 "aletheia_e2e_request_latency_seconds_bucket", "aletheia_prompt_tokens_total",
                 "aletheia_generation_tokens_total", "aletheia_requests_running", "aletheia_requests_waiting",
                 "aletheia_batch_sequences_bucket", "aletheia_generation_throughput_tokens_per_second"]:
        assert name in text, name
    after = _metric(llm_server.url, "aletheia_requests_total", 'endpoint="/v1/chat/completions",status="200"')
    assert after == before + 1


def test_health_is_503_while_loading(tmp_path):
    """Polled from the moment the process starts (ServerProcess itself waits for the 200)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "server", "--port", str(port), "--models-dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        statuses = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                statuses.append(httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code)
            except httpx.TransportError:
                pass
            if statuses and statuses[-1] == 200:
                break
            time.sleep(0.01)
        assert statuses[-1] == 200
        assert 503 in statuses or len(statuses) == 1  # loading is usually caught; a fast load may skip it
    finally:
        proc.terminate()
        proc.wait(10)


def test_registry_serves_trained_models_and_newest_as_aletheia(tight_client, trained_models_dir):
    ids = {m.id for m in tight_client.models.list().data}
    assert {"aletheia-base", "ops-v1", "ops-v2", "aletheia"} <= ids
    assert "broken" not in ids
    card = tight_client.models.retrieve("aletheia")
    assert card.model_extra["path"].endswith("ops-v2/model.gguf")
    r = tight_client.chat.completions.create(model="aletheia", messages=LONG, max_tokens=2)
    assert r.model == "aletheia"
    specs = discover(["aletheia-base", f"mine={trained_models_dir / 'ops-v1' / 'model.gguf'}"], trained_models_dir)
    assert [s.id for s in specs][:2] == ["aletheia-base", "mine"]


def test_queue_full_is_503_with_retry_after(tight_server, tight_client):
    """One slot and a wait queue of one: the third concurrent request is refused, the first two finish."""
    results: dict[int, object] = {}

    # a schema that forces a long answer: sampling cannot end either request early and shrink the window
    essay = {"type": "json_schema", "json_schema": {"name": "essay", "schema": {
        "type": "object", "properties": {"essay": {"type": "string", "minLength": 190, "maxLength": 200}},
        "required": ["essay"]}}}

    def call(i):
        try:
            results[i] = tight_client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=300,
                                                              response_format=essay)
        except Exception as exc:  # noqa: BLE001 - recorded for the asserts
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while _metric(tight_server.url, "aletheia_requests_waiting") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    r = httpx.post(f"{tight_server.base_url}/chat/completions", timeout=30,
                   headers={"authorization": "Bearer test-key-123"},
                   json={"model": MODEL, "messages": LONG, "max_tokens": 5})
    for t in threads:
        t.join()
    assert r.status_code == 503 and r.headers["retry-after"], (results, r.text)
    assert r.json()["error"]["code"] == "server_busy"
    assert all(not isinstance(v, Exception) and v.usage.completion_tokens > 0 for v in results.values()), results


def _wait_idle(url: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _metric(url, "aletheia_requests_running") == 0 and _metric(url, "aletheia_requests_waiting") == 0:
            return True
        time.sleep(0.02)
    return False


def test_streaming_disconnect_frees_the_slot(tight_server, tight_client):
    """Read a few chunks of a 1,500-token stream, hang up; the only slot is free again at once."""
    before = _metric(tight_server.url, "aletheia_generation_throughput_tokens_per_second")
    stream = tight_client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=1500, stream=True,
                                                  temperature=0.8, seed=1)
    for i, _ in enumerate(stream):
        if i == 5:
            break
    stream.close()
    assert _wait_idle(tight_server.url), "the cancelled sequence still holds the slot"
    t0 = time.perf_counter()
    r = tight_client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=5, temperature=0)
    assert r.usage.completion_tokens == 5
    assert time.perf_counter() - t0 < 5, "the next request waited for the abandoned one"
    del before


def test_non_streaming_disconnect_frees_the_slot(tight_server):
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{tight_server.base_url}/chat/completions", timeout=1.0,
                   headers={"authorization": "Bearer test-key-123"},
                   json={"model": MODEL, "messages": LONG, "max_tokens": 1500, "temperature": 0.8, "seed": 2})
    assert _wait_idle(tight_server.url), "generation went on after the client left"
    assert "client disconnected before the response to POST /v1/chat/completions" in \
        tight_server.log_path.read_text(errors="replace")


def test_new_request_never_cuts_off_a_running_one(tight_client):
    async def main():
        async with openai.AsyncOpenAI(base_url=tight_client.base_url, api_key=tight_client.api_key,
                                      max_retries=0) as client:
            first = asyncio.create_task(client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=40,
                                                                       temperature=0))
            await asyncio.sleep(0.2)
            second = await client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=10, temperature=0)
            return await first, second

    first, second = asyncio.run(main())
    assert first.usage.completion_tokens == 40 and first.choices[0].finish_reason == "length"
    assert second.usage.completion_tokens == 10


def test_prometheus_text_is_parseable(llm_server):
    text = httpx.get(f"{llm_server.url}/metrics").text
    bad = [ln for ln in text.splitlines() if ln and not ln.startswith("#")
           and not re.match(r"^[a-zA-Z_:][\w:]*(\{.*\})? [-+0-9.eEinfNa]+$", ln)]
    assert not bad, bad[:3]


def test_cors_is_opt_in_and_preflight_needs_no_key(llm_server, tight_server):
    origin = {"Origin": "http://localhost:3000"}
    preflight = {**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    r = httpx.options(f"{tight_server.base_url}/chat/completions", headers=preflight, timeout=30)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"
    r = httpx.get(f"{tight_server.base_url}/models", headers={**origin, "Authorization": "Bearer test-key-123"},
                  timeout=30)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "x-request-id" in r.headers["access-control-expose-headers"]
    r = httpx.get(f"{tight_server.base_url}/models", headers={"Origin": "http://evil.example",
                                                               "Authorization": "Bearer test-key-123"}, timeout=30)
    assert "access-control-allow-origin" not in r.headers, "only the configured origin"
    r = httpx.get(f"{llm_server.base_url}/models", headers=origin, timeout=30)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers, "off unless configured"

"""The usage ledger on the real server: every request recorded with the model's own token counts, under
concurrency and on hang-ups; /v1/usage; per-key Prometheus counters; the CLI's CSV/JSON export."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
import pytest

from .conftest import ADMIN_KEY, aclient_for, keys_cli, ledger_rows, wait_for_rows

QUESTION = [{"role": "user", "content": "What does `df -h` show?"}]


async def test_every_concurrent_request_is_recorded_with_its_usage(gateway_server, new_key):
    secret, record = new_key("ledger-user")
    client = aclient_for(gateway_server, secret)

    async def plain(i: int):
        r = await client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=3 + i % 3,
                                                 user=f"u{i}")
        return r.id, r.usage

    async def streamed(i: int):
        stream = await client.chat.completions.create(model="ops-v2", messages=QUESTION, max_tokens=4,
                                                      stream=True, stream_options={"include_usage": True})
        rid, usage = None, None
        async for chunk in stream:
            rid = chunk.id
            usage = chunk.usage or usage
        return rid, usage

    async def completion(i: int):
        r = await client.completions.create(model="ops-v1", prompt=["df shows", "du shows"], max_tokens=2)
        return r.id, r.usage

    jobs = [plain(i) for i in range(10)] + [streamed(i) for i in range(6)] + [completion(i) for i in range(4)]
    async with client:  # closed here: an unclosed client's finalizer can strand a later request (issue 14)
        results = await asyncio.gather(*jobs)
    rows = {r["response_id"]: r for r in ledger_rows(gateway_server.database_url, "key_id = :k", k=record["id"])}
    assert len(rows) == len(jobs)
    for rid, usage in results:
        row = rows[rid]
        assert (row["prompt_tokens"], row["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
        assert row["cached_tokens"] == usage.prompt_tokens_details.cached_tokens
        assert row["status"] == 200 and not row["client_disconnected"] and row["owner"] == "ledger-user"
        assert row["finish_reason"] in ("length", "stop")
        assert 0 < row["ttft_ms"] <= row["latency_ms"]
    assert {r["endpoint"] for r in rows.values()} == {"/v1/chat/completions", "/v1/completions"}
    assert sorted(r["user"] for r in rows.values() if r["user"]) == sorted(f"u{i}" for i in range(10))


def test_a_cut_stream_records_the_tokens_generated_so_far(gateway_server, new_key):
    secret, record = new_key("hang-up-user")
    body = {"model": "ops-v1", "messages": QUESTION, "max_tokens": 400, "stream": True}
    chunks = 0
    with httpx.Client(timeout=120) as http:
        with http.stream("POST", f"{gateway_server.base_url}/chat/completions", json=body,
                         headers={"Authorization": f"Bearer {secret}"}) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    chunks += 1
                    if chunks == 4:
                        break  # hang up mid-stream
    [row] = wait_for_rows(gateway_server.database_url, 1, "key_id = :k", k=record["id"])
    assert row["client_disconnected"] and row["status"] == 200
    assert row["completion_tokens"] >= 3  # the tokens sent before the hang-up at least (the role chunk is first)
    assert row["completion_tokens"] < 400 and row["prompt_tokens"] > 0


def test_usage_groups_by_key_model_variant_and_day(gateway_server, admin_http, new_key):
    secret, record = new_key("usage-user")
    client = httpx.Client(base_url=gateway_server.base_url, headers={"Authorization": f"Bearer {secret}"},
                          timeout=120)
    for model in ("ops-v1", "ops-v2", "ops-ab"):
        assert client.post("/chat/completions", json={"model": model, "messages": QUESTION,
                                                      "max_tokens": 2}).status_code == 200
    mine = ledger_rows(gateway_server.database_url, "key_id = :k", k=record["id"])

    by_key = admin_http.get("/v1/usage", params={"group_by": "key"}).json()
    [entry] = [e for e in by_key["data"] if e["key_id"] == record["id"]]
    assert entry["owner"] == "usage-user" and entry["requests"] == 3
    assert entry["prompt_tokens"] == sum(r["prompt_tokens"] for r in mine)
    assert entry["completion_tokens"] == sum(r["completion_tokens"] for r in mine)
    assert entry["cached_tokens"] == sum(r["cached_tokens"] for r in mine)
    assert entry["total_tokens"] == entry["prompt_tokens"] + entry["completion_tokens"]

    models = {e["model"] for e in admin_http.get("/v1/usage", params={"group_by": "model"}).json()["data"]}
    assert {"ops-v1", "ops-v2", "ops-ab"} <= models
    variants = admin_http.get("/v1/usage", params={"group_by": "variant"}).json()["data"]
    assert variants and all(v["experiment"] == "ops-ab" and v["variant"] in ("ops-v1", "ops-v2") for v in variants)
    days = admin_http.get("/v1/usage", params={"group_by": "day"}).json()["data"]
    assert sum(d["requests"] for d in days) == len(ledger_rows(gateway_server.database_url))

    after = mine[-1]["created_at"] + 0.001
    later = admin_http.get("/v1/usage", params={"group_by": "key", "since": str(after)}).json()["data"]
    assert not [e for e in later if e["key_id"] == record["id"]]
    window = admin_http.get("/v1/usage", params={"group_by": "key", "since": mine[0]["day"],
                                                 "until": str(after)}).json()["data"]
    assert [e["requests"] for e in window if e["key_id"] == record["id"]] == [3]

    bad = admin_http.get("/v1/usage", params={"group_by": "owner"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "group_by"
    bad = admin_http.get("/v1/usage", params={"since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "since"

    metrics = httpx.get(f"{gateway_server.url}/metrics").text
    assert f'aletheia_key_requests_total{{key="{record["id"]}",status="200"}} 3.0' in metrics
    assert f'aletheia_key_tokens_total{{key="{record["id"]}",kind="prompt"}} {float(entry["prompt_tokens"])}' \
        in metrics


def test_cli_exports_the_ledger_as_csv_and_json(gateway_server, new_key, tmp_path):
    url = gateway_server.database_url
    rows = ledger_rows(url)
    out = tmp_path / "ledger.json"
    keys_cli("export", "--format", "json", "--output", str(out), "--database-url", url)
    exported = json.loads(out.read_text())
    assert len(exported) >= len(rows) and {"key_id", "prompt_tokens", "variant", "ttft_ms"} <= set(exported[0])
    text = keys_cli("usage", "--group-by", "model", "--format", "csv", "--database-url", url).stdout
    table = list(csv.DictReader(io.StringIO(text)))
    assert {"model", "requests", "prompt_tokens", "cached_tokens", "completion_tokens"} <= set(table[0])
    assert sum(int(r["requests"]) for r in table) >= len(rows)


@pytest.mark.parametrize("path", ["/v1/usage", "/v1/admin/keys", "/v1/experiments"])
def test_gateway_endpoints_need_a_key(gateway_server, path):
    assert httpx.get(gateway_server.url + path).status_code == 401
    assert httpx.get(gateway_server.url + path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200


def test_a_client_that_leaves_before_the_answer_is_recorded_as_499(gateway_server, new_key):
    """A non-streamed request whose client gives up: the generation is cancelled and the row says so."""
    secret, record = new_key("impatient-user")
    body = {"model": "ops-v1", "messages": QUESTION, "max_tokens": 900,
            "logit_bias": {"0": -100, "2": -100}}  # no end-of-text token: it would run to max_tokens
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway_server.base_url}/chat/completions", json=body, timeout=1.0,
                   headers={"Authorization": f"Bearer {secret}"})
    [row] = wait_for_rows(gateway_server.database_url, 1, "key_id = :k", k=record["id"])
    assert row["status"] == 499 and row["client_disconnected"]
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] < 900

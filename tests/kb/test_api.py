"""Files, Vector Stores and chat retrieval on the real server, driven by the official openai client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = "aletheia-base"

RUNBOOK = b"""# Payments runbook

## Restarting the ledger

Restart the ledger with `systemctl restart ledger-writer`. Wait for the health check on port 7311 before
sending traffic again.

## Rotating keys

The signing key rotates every 30 days through `vault write transit/keys/payments/rotate`.
"""


@pytest.fixture(scope="module")
def client(llm_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="unused", max_retries=0, timeout=600)


@pytest.fixture(scope="module")
def runbook_store(client):
    uploaded = client.files.create(file=("payments.md", RUNBOOK), purpose="assistants")
    store = client.vector_stores.create(name="payments")
    attached = client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    assert attached.status == "completed" and attached.last_error is None
    yield store, uploaded
    client.vector_stores.delete(store.id)


def test_files_round_trip(client):
    created = client.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    assert created.object == "file" and created.bytes == 5 and created.filename == "notes.txt"
    assert client.files.retrieve(created.id).filename == "notes.txt"
    assert created.id in [f.id for f in client.files.list()]
    assert client.files.content(created.id).read() == b"hello"
    assert client.files.delete(created.id).deleted
    with pytest.raises(openai.NotFoundError) as err:
        client.files.retrieve(created.id)
    assert err.value.body["code"] == "not_found"


def test_bad_purpose_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("x.txt", b"x"), purpose="nonsense")
    assert err.value.body["param"] == "purpose"


def test_store_search_cites_file_and_lines(client, runbook_store):
    store, uploaded = runbook_store
    page = client.vector_stores.search(vector_store_id=store.id, query="which port is the ledger health check on",
                                       max_num_results=2)
    top = page.data[0]
    assert top.file_id == uploaded.id and top.filename == "payments.md"
    assert "7311" in top.content[0].text
    assert top.attributes["title"] == "payments.md > Payments runbook > Restarting the ledger"
    assert (top.attributes["line_start"], top.attributes["line_end"]) == (5, 6)
    assert top.attributes["url"] == f"/v1/files/{uploaded.id}/content#L5-L6"
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 1
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id)] == [uploaded.id]


def test_a_binary_file_fails_with_its_name(client, runbook_store):
    store, _ = runbook_store
    binary = client.files.create(file=("blob.md", b"\0\1\2binary"), purpose="assistants")
    attached = client.vector_stores.files.create(vector_store_id=store.id, file_id=binary.id)
    assert attached.status == "failed"
    assert attached.last_error.code == "unsupported_file" and "blob.md: binary content" in attached.last_error.message


def test_unknown_store_and_empty_query(client, runbook_store):
    with pytest.raises(openai.NotFoundError) as err:
        client.vector_stores.search(vector_store_id="vs_000000000000000000000000", query="x")
    assert err.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.search(vector_store_id=runbook_store[0].id, query="   ")
    assert err.value.body["param"] == "query"


def test_a_store_built_by_the_cli_is_listed_by_the_server(client, llm_server, tmp_path):
    (tmp_path / "guide.md").write_text("# Guide\n\nThe cache is warmed by `make warm` after each deploy.\n")
    built = subprocess.run([sys.executable, "-m", "server", "kb", "--kb-dir", str(llm_server.kb_dir), "add",
                            "cli-built", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           check=False)
    assert built.returncode == 0, built.stderr
    listed = {s.name: s for s in client.vector_stores.list()}
    assert listed["cli-built"].file_counts.completed == 1
    page = client.vector_stores.search(vector_store_id=listed["cli-built"].id, query="how is the cache warmed")
    assert page.data[0].filename == "guide.md"


def test_chat_with_knowledge_grounds_the_prompt_and_returns_its_passages(client, runbook_store):
    store, uploaded = runbook_store
    question = "How do I restart the ledger?"
    plain = client.chat.completions.create(model=MODEL, max_tokens=1, temperature=0,
                                           messages=[{"role": "user", "content": question}])
    grounded = client.chat.completions.create(
        model=MODEL, max_tokens=48, temperature=0, messages=[{"role": "user", "content": question}],
        extra_body={"knowledge": {"vector_store_ids": [store.id], "max_num_results": 2}})
    extra = grounded.model_extra["knowledge"]
    assert extra["passages"][0]["file_id"] == uploaded.id
    assert extra["passages"][0]["title"].endswith("Restarting the ledger")
    assert grounded.usage.prompt_tokens > plain.usage.prompt_tokens + 60  # the passages are in the prompt
    message = grounded.choices[0].message
    annotations = message.model_extra.get("annotations") if message.model_extra else message.annotations
    assert isinstance(annotations, list)
    for a in annotations or []:  # each one points at a "[n]" marker in the text and at a passage's lines
        a = a if isinstance(a, dict) else a.model_dump()
        start, end = a["url_citation"]["start_index"], a["url_citation"]["end_index"]
        assert message.content[start:end].startswith("[")
        assert a["url_citation"]["url"].startswith(f"/v1/files/{uploaded.id}/content#L")


def test_streamed_chat_with_knowledge_carries_the_passages(client, runbook_store):
    store, _ = runbook_store
    chunks = list(client.chat.completions.create(
        model=MODEL, max_tokens=16, temperature=0, stream=True,
        messages=[{"role": "user", "content": "When does the signing key rotate?"}],
        extra_body={"knowledge": {"vector_store_ids": [store.id]}}))
    first = chunks[0].model_extra["knowledge"]
    assert any(p["title"].endswith("Rotating keys") for p in first["passages"])
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_bad_knowledge_fields_are_400_and_404(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, max_tokens=1, messages=[{"role": "user", "content": "hi"}],
                                       extra_body={"knowledge": {"vector_store_ids": []}})
    assert err.value.body["param"] == "knowledge.vector_store_ids"
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model=MODEL, max_tokens=1, messages=[{"role": "user", "content": "hi"}],
                                       extra_body={"knowledge": {"vector_store_ids": ["no-such-store"]}})
    assert "no-such-store" in json.dumps(err.value.body)

"""The language server over real stdio under malformed and hostile JSON-RPC: unknown methods, wrong params,
bytes that are not JSON, huge and binary documents, edits out of range, requests cancelled mid-flight and a
model server that accepts connections and never answers. The server never exits and every request gets a
result or an error; afterwards it still analyses a document."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from .conftest import CONFIGS, open_document, wait_for_diagnostics

ANSWER_WITHIN = 30  # seconds any request may take here, stalled model included (its requestTimeout is 2 s)


async def answered(coro) -> object:
    """A result, or the JSON-RPC error the server answered with; a hang fails the test."""
    try:
        return await asyncio.wait_for(coro, ANSWER_WITHIN)
    except JsonRpcException as exc:
        return exc


async def assert_alive(client: LanguageClient) -> None:
    assert client._server.returncode is None, "the language server exited"
    uri = (CONFIGS / "Dockerfile").as_uri()
    open_document(client, uri, (CONFIGS / "Dockerfile").read_text(), "dockerfile", version=100)
    assert await wait_for_diagnostics(client, uri)


def write_raw(client: LanguageClient, payload: bytes) -> None:
    client._server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(payload) + payload)


_ids = itertools.count(1)


async def raw_request(client: LanguageClient, method: str, params) -> object:
    """Send a request as raw JSON (the typed client would refuse malformed params) and await its answer."""
    msg_id = f"fuzz-{next(_ids)}"
    future = asyncio.get_running_loop().create_future()
    client.protocol._request_futures[msg_id] = future  # pygls resolves it when the answer with this id arrives
    write_raw(client, json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode())
    return await answered(future)


@pytest.fixture
def stalled_endpoint():
    """A 'model server' that accepts connections and never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"


async def test_malformed_requests_bytes_and_documents_get_answers(client: LanguageClient):
    for method, params in [("aletheia/noSuchThing", {}), ("textDocument/noSuchFeature", {"x": 1}),
                           ("textDocument/codeAction", {"textDocument": 5}),
                           ("textDocument/hover", {"textDocument": {"uri": "file:///nowhere"},
                                                   "position": {"line": -1, "character": 10**12}}),
                           ("workspace/executeCommand", {"command": "aletheia.ask", "arguments": [17, None]}),
                           ("workspace/executeCommand", {"command": "aletheia.nope"})]:
        await raw_request(client, method, params)
    await assert_alive(client)
    # bytes that are not JSON-RPC at all
    for payload in [b"{not json", b"[1, 2, 3]", b'{"jsonrpc": "2.0", "id": 991, "method": 12}',
                    b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": null}',
                    "{\"jsonrpc\": \"2.0\", \"id\": 992, \"method\": \"\u00e9\\ud800\"}".encode(),
                    b"\xff\xfe\x00garbage", json.dumps({"jsonrpc": "2.0", "id": 993, "method": "x" * 100_000}).encode()]:
        write_raw(client, payload)
    await assert_alive(client)
    # huge and binary documents, edits out of range, a document never opened
    uri = "file:///tmp/fuzz/Dockerfile"
    open_document(client, uri, "FROM alpine\n" + "RUN true\n" * 100_000, "dockerfile")  # ~2.7 MB
    open_document(client, "file:///tmp/fuzz/blob.yaml", "\x00\x01\x02\ufffd" * 50_000, "yaml")
    for start, end in [((10**9, 0), (10**9, 5)), ((5, 100), (2, 0)), ((-1, -1), (0, 0))]:
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(*map(abs, start)), end=types.Position(*map(abs, end))),
            text="\x00 inserted \ud7ff")
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[change]))
    client.text_document_did_change(types.DidChangeTextDocumentParams(  # a document never opened
        text_document=types.VersionedTextDocumentIdentifier(uri="file:///never/opened", version=1),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="x")]))
    await answered(client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(0, 0), end=types.Position(10**6, 0)),
        context=types.CodeActionContext(diagnostics=[]))))
    await assert_alive(client)


async def test_a_stalled_model_server_and_cancelled_requests_get_answers(client: LanguageClient, stalled_endpoint):
    client.set_configuration({"endpoint": stalled_endpoint, "model": "m", "requestTimeout": 2}, section="aletheia")
    uri = (CONFIGS / "Dockerfile").as_uri()
    open_document(client, uri, (CONFIGS / "Dockerfile").read_text(), "dockerfile")
    ask = types.ExecuteCommandParams(command="aletheia.ask", arguments=[{"question": "why?", "uri": uri}])
    outcome = await answered(client.workspace_execute_command_async(ask))  # the stall ends in the timeout
    assert outcome is not None
    # requests cancelled mid-flight ($/cancelRequest) still get an answer (a result or RequestCancelled)
    ids = [f"cancel-{i}" for i in range(3)]
    futures = []
    for msg_id in ids:
        futures.append(asyncio.get_running_loop().create_future())
        client.protocol._request_futures[msg_id] = futures[-1]
        write_raw(client, json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
                                      "params": {"command": "aletheia.ask",
                                                 "arguments": [{"question": "why?", "uri": uri}]}}).encode())
    await asyncio.sleep(0.3)
    for msg_id in ids[:2]:
        write_raw(client, json.dumps({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": msg_id}}).encode())
    for future in futures:
        await answered(future)
    await assert_alive(client)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["textDocument/hover", "textDocument/codeAction", "workspace/executeCommand",
                               "textDocument/didChange", "textDocument/didOpen", "aletheia/x"]),
       params=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["textDocument", "uri", "range", "position", "command", "arguments",
                                                "contentChanges", "text", "line"]), inner, max_size=4),
                           max_leaves=10))
async def test_generated_requests_get_a_result_or_an_error(client: LanguageClient, method, params):
    await raw_request(client, method, params)
    assert client._server.returncode is None

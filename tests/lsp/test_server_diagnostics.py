"""The language server over stdio (pytest-lsp): diagnostics for every config kind, quick fixes that really
fix, debounced re-analysis on change, log error groups, bad input, and a model server that is down."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import CONFIGS, open_document, wait_for_diagnostics

SAMPLES = [
    ("Dockerfile", "dockerfile", {"DF001", "DF002", "DF003", "DF006", "DF010", "DF011"}),
    ("deployment.yaml", "yaml", {"K8S001", "K8S003", "K8S004", "K8S007", "K8S011"}),
    ("docker-compose.yml", "yaml", {"DC001", "DC003", "DC004", "DC006", "DC008"}),
    ("nginx.conf", "plaintext", {"NGX001", "NGX002", "NGX003", "NGX005", "NGX006"}),
    ("shop-api.service", "plaintext", {"SD001", "SD002", "SD006", "SD007", "SD008"}),
    ("broken.json", "json", {"SYN002"}),
    ("broken.toml", "toml", {"SYN003"}),
    ("half-typed.yaml", "yaml", {"SYN001"}),
]


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    spans = sorted(
        (
            (
                offsets[e.range.start.line] + e.range.start.character,
                offsets[e.range.end.line] + e.range.end.character,
                e.new_text,
            )
            for e in edits
        ),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


@pytest.mark.parametrize("name,language,expected", SAMPLES, ids=[s[0] for s in SAMPLES])
async def test_diagnostics_for_each_kind(client: LanguageClient, name, language, expected):
    uri = (CONFIGS / name).as_uri()
    open_document(client, uri, (CONFIGS / name).read_text(), language)
    diags = await wait_for_diagnostics(client, uri)
    codes = {d.code for d in diags}
    assert expected <= codes, f"missing {expected - codes}"
    assert all(d.source == "aletheia" and d.message for d in diags)


@pytest.mark.parametrize(
    "name",
    [
        "Dockerfile.good",
        "deployment.good.yaml",
        "compose.good.yaml",
        "nginx.good.conf",
        "shop-api.good.service",
    ],
)
async def test_good_configs_have_no_warnings(client: LanguageClient, name):
    uri = (CONFIGS / name).as_uri()
    open_document(client, uri, (CONFIGS / name).read_text())
    diags = await wait_for_diagnostics(client, uri)
    assert [
        d for d in diags if d.severity in (types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning)
    ] == []


async def test_exact_range_of_latest_tag(client: LanguageClient):
    uri = "untitled:Dockerfile"
    open_document(
        client, uri, 'FROM node:latest\nUSER node\nHEALTHCHECK CMD true\nCMD ["node", "a.js"]\n', "dockerfile"
    )
    diags = await wait_for_diagnostics(client, uri)
    (latest,) = [d for d in diags if d.code == "DF001"]
    assert (latest.range.start.line, latest.range.start.character, latest.range.end.character) == (0, 5, 16)
    assert latest.severity == types.DiagnosticSeverity.Warning


async def test_quick_fixes_remove_their_findings(client: LanguageClient):
    path = CONFIGS / "nginx.conf"
    text = path.read_text()
    uri = path.as_uri()
    open_document(client, uri, text)
    diags = await wait_for_diagnostics(client, uri)
    whole = types.Range(types.Position(0, 0), types.Position(len(text.splitlines()) + 1, 0))
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=whole,
            context=types.CodeActionContext(diagnostics=diags),
        )
    )
    fixes = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    fixed_rules = {a.diagnostics[0].code for a in fixes}
    assert {"NGX001", "NGX002", "NGX003", "NGX006"} <= fixed_rules
    assert any(a.command and a.command.command == "aletheia.review" for a in actions)
    edits = [e for a in fixes for e in a.edit.changes[uri]]
    new_text = apply_edits(text, edits)
    client.diagnostics.pop(uri)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_text)],
        )
    )
    after = {d.code for d in await wait_for_diagnostics(client, uri)}
    assert not (fixed_rules & after), f"still reported after the fix: {fixed_rules & after}"
    assert "NGX005" in after  # no fix offered: still there


async def test_changes_are_debounced(client: LanguageClient):
    uri = "file:///tmp/aletheia-debounce/Dockerfile"
    open_document(client, uri, "FROM alpine:3.20\n", "dockerfile")
    await wait_for_diagnostics(client, uri)
    client.diagnostics.pop(uri)
    published = []
    text = "FROM alpine:3.20\n"
    for i, ch in enumerate("RUN sudo apk add curl\n"):
        text += ch
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        await asyncio.sleep(0.01)
        if uri in client.diagnostics:
            published.append(client.diagnostics.pop(uri))
    diags = await wait_for_diagnostics(client, uri)
    assert published == []  # typing faster than the debounce publishes nothing in between
    assert "DF007" in {d.code for d in diags}


async def test_settings_switch_off_diagnostics(client: LanguageClient):
    client.set_configuration({"diagnostics": {"enabled": False}}, section="aletheia")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await asyncio.sleep(0.3)
    uri = "untitled:compose.yaml"
    open_document(client, uri, "services:\n  db:\n    image: postgres\n    privileged: true\n", "yaml")
    assert list(await wait_for_diagnostics(client, uri)) == []
    client.diagnostics.pop(uri)
    client.set_configuration({"diagnostics": {"enabled": True}}, section="aletheia")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert "DC001" in {d.code for d in await wait_for_diagnostics(client, uri)}


async def test_garbage_binary_and_huge_documents(client: LanguageClient):
    docs = {
        "file:///tmp/x/garbage.yaml": "\x00\x01\x02binary\xff" * 50,
        "file:///tmp/x/deep.json": "[" * 50_000,
        "file:///tmp/x/empty.service": "",
        "file:///tmp/x/nginx.conf": "http { server { location / { } \n",
        "file:///tmp/x/huge.yaml": "a: 1\n" * 60_000,
        "file:///tmp/x/Dockerfile": "\ufffd\ufffdFROM\n RUN \\\n",
    }
    for uri, text in docs.items():
        open_document(client, uri, text)
    results = {uri: await wait_for_diagnostics(client, uri) for uri in docs}
    assert any(d.code == "GEN002" for d in results["file:///tmp/x/garbage.yaml"])
    assert any(d.code == "SYN002" for d in results["file:///tmp/x/deep.json"])
    assert any(d.code == "NGX009" for d in results["file:///tmp/x/nginx.conf"])
    assert any(d.code == "GEN001" for d in results["file:///tmp/x/huge.yaml"])
    # and the server still answers
    uri = "untitled:Dockerfile"
    open_document(client, uri, "FROM ubuntu\n", "dockerfile")
    assert "DF001" in {d.code for d in await wait_for_diagnostics(client, uri)}


LOG = """\
2024-03-01 10:00:00,001 INFO  [main] com.acme.App: Starting service on port 8080
2024-03-01 10:00:02,003 ERROR [worker-1] com.acme.Handler: Request 8812 failed
java.lang.IllegalStateException: connection pool exhausted (size=20)
\tat com.acme.db.Pool.acquire(Pool.java:88)
2024-03-01 10:00:03,004 INFO  [main] com.acme.App: Connected to db at 10.0.0.6:5432 in 98ms
2024-03-01 10:00:04,005 ERROR [worker-2] com.acme.Handler: Request 9913 failed
java.lang.IllegalStateException: connection pool exhausted (size=20)
\tat com.acme.db.Pool.acquire(Pool.java:88)
"""


async def test_log_error_groups_and_explain_action(client: LanguageClient):
    uri = "file:///tmp/x/app.log"
    open_document(client, uri, LOG, "log")
    diags = await wait_for_diagnostics(client, uri)
    groups = [d for d in diags if d.code == "log/error-group"]
    assert groups and groups[0].range.start.line == 1
    assert groups[0].message.startswith("2 occurrences of:")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=groups[0].range,
            context=types.CodeActionContext(diagnostics=groups[:1]),
        )
    )
    (explain,) = actions
    assert explain.title == "Explain this error with Aletheia"
    assert explain.command.command == "aletheia.explainLogError"
    assert explain.command.arguments[0]["uri"] == uri


async def test_model_server_down(client: LanguageClient):
    """A closed port: the command fails with a clear error, one showMessage for several attempts, and
    static diagnostics keep working."""
    uri = "untitled:Dockerfile"
    open_document(client, uri, "FROM ubuntu\n", "dockerfile")
    await wait_for_diagnostics(client, uri)
    for _ in range(3):
        with pytest.raises(Exception) as err:
            await asyncio.wait_for(
                client.workspace_execute_command_async(
                    types.ExecuteCommandParams(
                        command="aletheia.ask", arguments=[{"question": "Why?", "uri": uri}]
                    )
                ),
                30,
            )
        assert "unreachable" in str(err.value)
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "127.0.0.1:9" in errors[0].message
    client.diagnostics.pop(uri)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="FROM ubuntu:24.04\n")],
        )
    )
    assert "DF001" not in {d.code for d in await wait_for_diagnostics(client, uri)}


async def test_bad_command_arguments(client: LanguageClient):
    for args in ([], [{"question": ""}], [{"question": 3}], [[1, 2]], [{"uri": 5}]):
        with pytest.raises(Exception) as err:
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="aletheia.ask", arguments=args)
            )
        assert "aletheia.ask" in str(err.value) or "question" in str(err.value) or "uri" in str(err.value)
    with pytest.raises(Exception, match="uri"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="aletheia.review", arguments=[{}])
        )


async def test_incremental_edits_and_utf16_columns(client: LanguageClient):
    uri = "untitled:Dockerfile"
    text = 'FROM ubuntu\nENV GREETING="h\u00e9llo \U0001f600" DB_PASSWORD=hunter2\nUSER app\n'
    open_document(client, uri, text, "dockerfile")
    diags = await wait_for_diagnostics(client, uri)
    (secret,) = [d for d in diags if d.code == "DF011"]
    line = text.split("\n")[1]
    col = line.index("DB_PASSWORD")
    utf16 = len(line[:col].encode("utf-16-le")) // 2
    assert utf16 == col + 1  # the emoji is two UTF-16 code units
    assert (secret.range.start.line, secret.range.start.character) == (1, utf16)
    assert secret.range.end.character == utf16 + len("DB_PASSWORD")
    client.diagnostics.pop(uri)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 11), types.Position(0, 11)), text=":24.04"
                )
            ],
        )
    )
    codes = {d.code for d in await wait_for_diagnostics(client, uri)}
    assert "DF001" not in codes and "DF011" in codes


async def test_close_clears_diagnostics(client: LanguageClient):
    uri = "untitled:Dockerfile"
    open_document(client, uri, "FROM ubuntu\n", "dockerfile")
    assert await wait_for_diagnostics(client, uri)
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
    for _ in range(200):
        if not client.diagnostics[uri]:
            break
        await asyncio.sleep(0.02)
    assert list(client.diagnostics[uri]) == []

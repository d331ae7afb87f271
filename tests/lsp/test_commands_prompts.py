"""What the editor sends is exactly what aletheia.tasks builds (the model is trained on it), and model-side
failures read clearly. A recording OpenAI-style endpoint stands in for the model here so the request body
can be inspected and errors forced; the real model is exercised in test_server_model.py."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from aletheia.tasks import ConfigReviewTask, Finding, LogAnalysisTask, QuestionTask
from lsp.analysers import analyse
from lsp.logs import analyse_log, context_excerpt

from .conftest import CONFIGS, open_document, wait_for_diagnostics
from .test_server_diagnostics import LOG

REVIEW_ANSWER = (
    "- line 5: [DF011] The password is baked into the image. Fix: pass it at run time.\n"
    "- line 2: The base image is unpinned. Fix: use python:3.12-slim.\n\nSummary: two defects."
)


class RecordingEndpoint:
    """/v1/chat/completions that records each body and streams ``answer`` as SSE (or fails as told)."""

    def __init__(self, answer: str = "OK", status: int = 200, delay: float = 0.0):
        self.bodies: list[dict] = []
        self.answer, self.status, self.delay = answer, status, delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                time.sleep(outer.delay)
                if outer.status != 200:
                    payload = json.dumps(
                        {"error": {"message": f"model {body['model']!r} not found"}}
                    ).encode()
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i in range(0, len(outer.answer), 7):
                    chunk = {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "delta": {"content": outer.answer[i : i + 7]}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endpoint():
    ep = RecordingEndpoint(REVIEW_ANSWER)
    yield ep
    ep.close()


def execute(client: LanguageClient, command: str, arg: dict):
    return client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[arg])
    )


async def test_review_sends_the_shared_task_prompt(client: LanguageClient, endpoint):
    client.set_configuration(
        {"endpoint": endpoint.base_url, "model": "tuned", "maxTokens": 77}, section="aletheia"
    )
    path = CONFIGS / "Dockerfile"
    text = path.read_text()
    open_document(client, path.as_uri(), text, "dockerfile")
    result = await execute(client, "aletheia.review", {"uri": path.as_uri()})
    (body,) = endpoint.bodies
    findings = tuple(
        Finding(line=f.span.line + 1, message=f.message, rule=f.rule)
        for f in analyse(text, str(path)).findings
    )
    expected = ConfigReviewTask(kind="dockerfile", content=text, path="Dockerfile", static_findings=findings)
    assert body["messages"] == expected.messages()
    assert (body["model"], body["max_tokens"], body["stream"]) == ("tuned", 77, True)
    assert result["answer"] == REVIEW_ANSWER
    assert [(f["line"], f["rule"]) for f in result["findings"]] == [(5, "DF011"), (2, "")]


async def test_ask_with_selection_sends_question_task(client: LanguageClient, endpoint):
    client.set_configuration({"endpoint": endpoint.base_url}, section="aletheia")
    path = CONFIGS / "deployment.yaml"
    open_document(client, path.as_uri(), path.read_text(), "yaml")
    await wait_for_diagnostics(client, path.as_uri())
    await execute(
        client,
        "aletheia.ask",
        {"question": " Why is this risky? ", "uri": path.as_uri(), "selection": "privileged: true"},
    )
    expected = QuestionTask(
        question="Why is this risky?", context="privileged: true", path="deployment.yaml", language="yaml"
    )
    assert endpoint.bodies[0]["messages"] == expected.messages()
    await execute(
        client,
        "aletheia.ask",
        {
            "question": "Explain",
            "uri": path.as_uri(),
            "range": {"start": {"line": 38, "character": 12}, "end": {"line": 38, "character": 28}},
        },
    )
    assert endpoint.bodies[1]["messages"][1]["content"].endswith("```yaml\nprivileged: true\n```")


async def test_explain_sends_log_task_with_group_and_excerpt(client: LanguageClient, endpoint):
    endpoint.answer = "Root cause: pool exhausted.\nEvidence: lines 2, 3\nFix: raise the pool size."
    client.set_configuration({"endpoint": endpoint.base_url}, section="aletheia")
    uri = "file:///tmp/aletheia-prompt/app.log"
    open_document(client, uri, LOG, "log")
    await wait_for_diagnostics(client, uri)
    group = analyse_log(LOG, source="/tmp/aletheia-prompt/app.log").error_groups[0]
    result = await execute(client, "aletheia.explainLogError", {"uri": uri, "line": group.first_line})
    excerpt, first = context_excerpt(
        LOG, group.first_line, before=10, after=max(10, (group.stack_trace or [0])[-1] - group.first_line + 2)
    )
    expected = LogAnalysisTask(
        excerpt=excerpt,
        source="app.log",
        first_line=first,
        error_summary=f"{group.count} occurrence(s) of: {group.template}",
        focus_lines=tuple([group.first_line] + group.stack_trace[:3]),
    )
    assert endpoint.bodies[0]["messages"] == expected.messages()
    assert result["parsed"] == {
        "rootCause": "pool exhausted.",
        "evidenceLines": [2, 3],
        "fix": "raise the pool size.",
    }


async def test_model_error_is_reported_clearly(client: LanguageClient):
    ep = RecordingEndpoint(status=404)
    try:
        client.set_configuration({"endpoint": ep.base_url, "model": "no-such-model"}, section="aletheia")
        with pytest.raises(Exception, match="HTTP 404: model 'no-such-model' not found"):
            await execute(client, "aletheia.ask", {"question": "hi"})
        assert any("404" in m.message for m in client.messages)
    finally:
        ep.close()


async def test_request_timeout(client: LanguageClient):
    ep = RecordingEndpoint(delay=3.0)
    try:
        client.set_configuration({"endpoint": ep.base_url, "requestTimeout": 0.5}, section="aletheia")
        with pytest.raises(Exception, match="timed out"):
            await execute(client, "aletheia.ask", {"question": "hi"})
    finally:
        ep.close()


async def test_disabled_features_refuse(client: LanguageClient, endpoint):
    client.set_configuration(
        {"endpoint": endpoint.base_url, "ask": {"enabled": False}, "logAnalysis": {"enabled": False}},
        section="aletheia",
    )
    with pytest.raises(Exception, match="ask.enabled is false"):
        await execute(client, "aletheia.ask", {"question": "hi"})
    with pytest.raises(Exception, match="logAnalysis.enabled is false"):
        await execute(client, "aletheia.explainLogError", {"uri": "file:///tmp/x.log"})
    assert endpoint.bodies == []


async def test_ask_about_a_selection_of_an_unreadable_file(client: LanguageClient, endpoint):
    client.set_configuration({"endpoint": endpoint.base_url}, section="aletheia")
    uri = "file:///nonexistent/dir/values.yaml"
    await execute(
        client, "aletheia.ask", {"question": "What is this?", "uri": uri, "selection": "replicas: 3"}
    )
    expected = QuestionTask(question="What is this?", context="replicas: 3", path="values.yaml")
    assert endpoint.bodies[0]["messages"] == expected.messages()
    with pytest.raises(Exception, match="cannot read"):
        await execute(client, "aletheia.ask", {"question": "What is this?", "uri": uri})

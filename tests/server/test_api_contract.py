"""The API contract: ``/openapi.json`` describes the real request and response bodies of every /v1 endpoint, and
schemathesis checks the live server (bundled model) against it, bounded in examples: no 5xx, every status and
content type is documented, every response conforms to its schema, every 4xx is OpenAI's error shape."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 8  # per operation: 40 requests, 4 tokens at most each (about a minute on a loaded 2-core machine)
MAX_TOKENS = 4


def test_every_v1_post_documents_its_request_and_response_bodies(llm_server):
    doc = httpx.get(f"{llm_server.url}/openapi.json", timeout=30).json()
    schemas = doc["components"]["schemas"]
    for path, request, response in [("/v1/chat/completions", "ChatCompletionRequest", "ChatCompletion"),
                                    ("/v1/completions", "CompletionRequest", "Completion"),
                                    ("/v1/embeddings", "EmbeddingRequest", "EmbeddingList")]:
        operation = doc["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{request}"} and "properties" in schemas[request]
        ok = operation["responses"]["200"]["content"]
        assert ok["application/json"]["schema"] == {"$ref": f"#/components/schemas/{response}"}
        assert operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "required" in schemas["ChatCompletionRequest"] and "messages" in schemas["ChatCompletionRequest"]["required"]


@pytest.fixture(scope="session")
def api_schema(llm_server):
    return schemathesis.openapi.from_url(f"{llm_server.url}/openapi.json").include(path_regex="^/v1/")


OPERATIONS = [("/v1/chat/completions", "POST"), ("/v1/completions", "POST"), ("/v1/embeddings", "POST"),
              ("/v1/models", "GET"), ("/v1/models/{model_id}", "GET")]


@schemathesis.hook
def map_body(context, body):
    """Keep generations short: the contract is about shapes, not long answers."""
    if isinstance(body, dict):
        body["model"] = "aletheia-base"  # unknown models are tested elsewhere; here the bodies should run
        for key in ("max_tokens", "max_completion_tokens"):
            if not isinstance(body.get(key), int) or body[key] > MAX_TOKENS:
                body[key] = MAX_TOKENS
        if isinstance(body.get("n"), int) and body["n"] > 2:
            body["n"] = 2
        REPAIRS[0] += 1
        if REPAIRS[0] % 2:  # every other body gets readable messages, so that successful answers are checked too
            if "messages" in body:
                body["messages"] = [{"role": "user", "content": "Name one Linux filesystem."}]
            if "prompt" in body:
                body["prompt"] = "The ext4 filesystem"
            if "input" in body:
                body["input"] = "ext4"
    return body


REPAIRS = [0]


def openai_error_shape(ctx, response, case) -> None:
    if 400 <= response.status_code < 500:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"], response.text


@pytest.mark.parametrize("path, method", OPERATIONS)
def test_live_server_conforms_to_its_openapi_document(api_schema, path, method):
    # schemathesis' own pytest integration does not run on pytest 9: drive its strategies with hypothesis
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=api_schema[path][method].as_strategy())
    def check(case):
        case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                       response_schema_conformance, openai_error_shape], timeout=120)

    check()

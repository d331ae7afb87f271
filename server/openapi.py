"""The OpenAPI document (``/openapi.json``): the real request and response bodies of every ``/v1`` endpoint.

The routes parse their bodies themselves (strict pydantic validation, OpenAI-shaped errors), so FastAPI sees no
body parameter; this module adds each request model's schema, the success body (JSON, or server-sent events when
``stream`` is true) and OpenAI's error body for every error status the server answers with.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from .protocol import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingList,
    EmbeddingRequest,
)

# (path, request model, response model, the model of each streamed event when "stream" is true)
BODIES: list[tuple[str, type[BaseModel], type[BaseModel], type[BaseModel] | None]] = [
    ("/v1/chat/completions", ChatCompletionRequest, ChatCompletion, ChatCompletionChunk),
    ("/v1/completions", CompletionRequest, Completion, Completion),
    ("/v1/embeddings", EmbeddingRequest, EmbeddingList, None),
]
ERRORS = {
    400: "The request is invalid (the message and `param` say which field and why).",
    401: "The API key is missing or wrong (only when the server runs with --api-key).",
    404: "Unknown model or URL.",
    405: "Method not allowed.",
    408: "The request body did not arrive within --body-timeout.",
    413: "The request body is larger than --max-body-bytes.",
    500: "The server had an error while processing the request.",
    503: "The server is busy (its wait queue is full) or its models are still loading; retry.",
    504: "The request did not complete within --request-timeout and was cancelled.",
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type", "param", "code"], "properties": {
            "message": {"type": "string"}, "type": {"type": "string"},
            "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}


def _component(schemas: dict, model: type[BaseModel], mode: str) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_responses() -> dict:
    return {str(status): {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for status, text in ERRORS.items()}


def build(app: FastAPI) -> dict:
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for path, request_model, response_model, streams in BODIES:
        operation = doc["paths"][path]["post"]
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _component(schemas, request_model, "validation")}}}
        content = {"application/json": {"schema": _component(schemas, response_model, "serialization")}}
        if streams is not None:  # each event's data: a chunk, or an error once headers are sent; then [DONE]
            chunk = _component(schemas, streams, "serialization")
            content["text/event-stream"] = {"schema": {"anyOf": [chunk, {"$ref": "#/components/schemas/Error"}]}}
        operation["responses"] = {"200": {"description": "The answer (a stream of chunks when `stream` is true).",
                                          "content": content}, **_error_responses()}
    for path, item in doc["paths"].items():
        for operation in item.values():
            operation.get("responses", {}).pop("422", None)  # a bad path or query parameter is a 400 here too
        if path.startswith("/v1/"):
            for operation in item.values():
                operation.setdefault("responses", {}).update(
                    {k: v for k, v in _error_responses().items() if k not in operation["responses"]})
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi

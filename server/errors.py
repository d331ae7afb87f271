"""OpenAI-shaped errors: ``{"error": {"message", "type", "param", "code"}}`` with the right HTTP status.

Every exception that reaches the app becomes one of these; a traceback never reaches a client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .engines.base import EngineFailure, PromptTooLong, QueueFull, TooManySequences
from .protocol import FieldError

log = logging.getLogger("server")

# OpenAI's own types: every 4xx is an invalid_request_error (401 and 404 included), 429 a rate limit.
_TYPES = {429: "rate_limit_error"}


def error_type(status: int) -> str:
    return "server_error" if status >= 500 else _TYPES.get(status, "invalid_request_error")


class APIError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.headers = status, message, param, code, headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, param=self.param, code=self.code, headers=self.headers)


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


_UNION_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "literal"}


def _param_path(loc: tuple) -> str:
    """('messages', 0, 'content', 'str') -> 'messages[0].content': drop pydantic's union-member tags."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() and part not in _UNION_TAGS:
            out += ("." if out else "") + part
    return out


def _join(path: str, param: str | None) -> str:
    if not param:
        return path
    return f"{path}{param}" if param.startswith("[") else f"{path}.{param}" if path else param


def from_validation_error(exc: ValidationError) -> APIError:
    errors = exc.errors(include_url=False)
    if errors[0]["type"] == "json_invalid":
        return APIError(400, "We could not parse the JSON body of your request: " + errors[0]["msg"],
                        code="invalid_json")
    # A union field reports one error per member ("not a string", then the real problem inside the list):
    # the one that got deepest into the value is the one that says what is wrong.
    first = max(errors, key=lambda e: len(e["loc"]))
    path = _param_path(first["loc"])
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        path = _join(path, cause.param)
    message = first["msg"].removeprefix("Value error, ")
    top = {_param_path(e["loc"][:1]) for e in errors} - {_param_path(first["loc"][:1])}
    more = f" (and problems in {', '.join(sorted(repr(t) for t in top if t))})" if any(top) else ""
    return APIError(400, f"Invalid value for '{path or 'body'}': {message}{more}", param=path or None,
                    code="invalid_value")



def from_engine_error(exc: Exception) -> APIError:
    if isinstance(exc, PromptTooLong):
        return APIError(400, str(exc), param="messages", code="context_length_exceeded")
    if isinstance(exc, QueueFull):
        return APIError(503, str(exc), code="server_busy", headers={"Retry-After": "1"})
    if isinstance(exc, TooManySequences):
        return APIError(400, str(exc), param="n", code="invalid_value")
    if isinstance(exc, ValueError):
        return APIError(400, str(exc), param=getattr(exc, "param", None), code="invalid_value")
    if isinstance(exc, EngineFailure):  # already logged with its traceback by the engine
        return APIError(500, f"The server had an error while generating: {exc}", code="engine_failure")
    log.exception("internal error", exc_info=exc)
    return APIError(500, "The server had an error while processing your request.", code="internal_error")


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError):
        return exc.response()

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: ValidationError):
        return from_validation_error(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        param = _param_path(tuple(first.get("loc", ()))[1:]) or None  # drop FastAPI's "body"/"query"/"path"
        return error_response(400, f"Invalid request: {first.get('msg', 'invalid')}", param=param,
                              code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        """FastAPI's own 404 and 405 (and any other HTTP exception) in OpenAI's shape, never its ``detail``."""
        headers = getattr(exc, "headers", None)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            message = f"Invalid URL ({where}): this server implements the OpenAI API under /v1."
            return error_response(404, message, code="unknown_url", headers=headers)
        if exc.status_code == 405:
            allowed = (headers or {}).get("Allow") or (headers or {}).get("allow")
            message = f"Method not allowed ({where})" + (f"; this route takes {allowed}." if allowed else ".")
            return error_response(405, message, code="method_not_allowed", headers=headers)
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        return error_response(exc.status_code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception):
        return from_engine_error(exc).response()

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

from .engines.base import PromptTooLong, QueueFull, TooManySequences

log = logging.getLogger("server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class APIError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.headers = status, message, param, code, headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, param=self.param, code=self.code, headers=self.headers)


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": _TYPES.get(status, "invalid_request_error"), "param": param,
                      "code": code}}
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


def from_validation_error(exc: ValidationError) -> APIError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        return APIError(400, "We could not parse the JSON body of your request: " + first["msg"], code="invalid_json")
    path = _param_path(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    where = path or "body"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return APIError(400, f"Invalid value for '{where}': {message}{more}", param=path or None, code="invalid_value")



def from_engine_error(exc: Exception) -> APIError:
    if isinstance(exc, PromptTooLong):
        return APIError(400, str(exc), param="messages", code="context_length_exceeded")
    if isinstance(exc, QueueFull):
        return APIError(503, str(exc), code="server_busy", headers={"Retry-After": "1"})
    if isinstance(exc, TooManySequences):
        return APIError(400, str(exc), param="n", code="invalid_value")
    if isinstance(exc, ValueError):
        return APIError(400, str(exc), code="invalid_value")
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
        return error_response(400, f"Invalid request: {exc.errors()[0].get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "Not found: this server implements the OpenAI API under /v1."
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception):
        return from_engine_error(exc).response()

"""Request-scoped helpers shared by the routes: app state, strict body parsing, disconnect handling."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from .errors import APIError, from_validation_error
from .metrics import Metrics
from .registry import ModelRegistry
from .settings import Settings

log = logging.getLogger("server.http")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass
class ServerState:
    settings: Settings
    registry: ModelRegistry
    metrics: Metrics


def get_state(request: Request) -> ServerState:
    return request.app.state.server


def request_id(request: Request) -> str:
    """The id ``x-request-id`` carries back (set by the app's guard middleware)."""
    return request.scope.get("state", {}).get("request_id", "-")


def deadline(request: Request) -> float:
    """The event-loop time by which this request must be answered (``--request-timeout`` after it arrived)."""
    state = request.scope.setdefault("state", {})
    if "deadline" not in state:
        settings: Settings = request.app.state.server.settings
        state["deadline"] = asyncio.get_running_loop().time() + settings.request_timeout
    return state["deadline"]


def timeout_error(request: Request) -> APIError:
    settings: Settings = request.app.state.server.settings
    return APIError(504, f"The request did not complete within the server's request timeout of "
                         f"{settings.request_timeout:g} seconds; it was cancelled.", code="timeout")


def _non_finite(_: str) -> None:
    raise ValueError("NaN and Infinity are not JSON numbers")


def _json_problem(raw: bytes) -> APIError | None:
    """What the stdlib parser finds wrong with a body pydantic accepted or refused without saying why:
    a non-object, NaN/Infinity (pydantic reads them), or nesting too deep to parse."""
    try:
        value = json.loads(raw, parse_constant=_non_finite)
    except RecursionError:
        return APIError(400, "We could not parse the JSON body of your request: it is nested too deeply.",
                        code="invalid_json")
    except ValueError as exc:
        return APIError(400, f"We could not parse the JSON body of your request: {exc}", code="invalid_json")
    if not isinstance(value, dict):
        return APIError(400, "The request body must be a JSON object.", code="invalid_json")
    return None


async def parse_body(request: Request, model: type[M]) -> M:
    settings: Settings = request.app.state.server.settings
    try:
        async with asyncio.timeout(settings.body_timeout):
            raw = await request.body()
    except TimeoutError:
        raise APIError(408, f"The request body did not arrive within {settings.body_timeout:g} seconds.",
                       code="timeout") from None
    log.debug("request %s: body of %d bytes read", request_id(request), len(raw))
    if not raw.strip():
        raise APIError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    if b"NaN" in raw or b"Infinity" in raw:  # pydantic parses these; only a string may hold them
        problem = _json_problem(raw)
        if problem is not None:
            raise problem
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        err = from_validation_error(exc)
        if err.code == "invalid_json":
            err = _json_problem(raw) or err
        raise err from None


# Text longer than this is templated and tokenized in a worker thread: 10 MB of text takes seconds to tokenize,
# and on the event loop those seconds would stall every other stream.
OFF_LOOP_CHARS = 64 * 1024


async def off_loop_if_large(chars: int, fn: Callable[..., T], *args) -> T:
    """``fn(*args)``, in a worker thread when it works on more than ``OFF_LOOP_CHARS`` characters."""
    if chars > OFF_LOOP_CHARS:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


async def until_disconnected(request: Request) -> None:
    """Return when the client goes away (http.disconnect). The body must have been read already."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Run ``work``; if the client disconnects first, or the request's deadline passes, cancel it (which
    aborts its generation and frees its slot) and raise (``CancelledError``, or a 504 ``APIError``)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(until_disconnected(request))
    try:
        remaining = deadline(request) - asyncio.get_running_loop().time()
        done, _ = await asyncio.wait({task, watcher}, timeout=max(remaining, 0),
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        timed_out = watcher not in done
        # logged because a client that is in fact still waiting would hang here: the next such report says so
        log.info("%s before the response to %s %s (request %s): generation cancelled",
                 "request timeout" if timed_out else "client disconnected", request.method, request.url.path,
                 request_id(request))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        if timed_out:
            raise timeout_error(request)
        raise asyncio.CancelledError("client disconnected")
    finally:
        watcher.cancel()


async def until_deadline(request: Request, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """``events`` while the request's deadline has not passed; then close them (the generation is aborted)
    and raise a 504 ``APIError``, which a streaming route reports in-band."""
    end = deadline(request)
    try:
        while True:
            try:
                async with asyncio.timeout_at(end):
                    item = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                log.info("request timeout while streaming %s (request %s): generation cancelled",
                         request.url.path, request_id(request))
                raise timeout_error(request) from None
            yield item
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()

"""Request-scoped helpers shared by the routes: app state, strict body parsing, disconnect handling."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
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


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if not raw.strip():
        raise APIError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        err = from_validation_error(exc)
        if err.code == "invalid_json":
            try:  # a well-formed JSON that is not an object gets a clearer message
                json.loads(raw)
                err = APIError(400, "The request body must be a JSON object.", code="invalid_json")
            except ValueError:
                pass
        raise err from None


async def until_disconnected(request: Request) -> None:
    """Return when the client goes away (http.disconnect). The body must have been read already."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Run ``work``; if the client disconnects first, cancel it (which aborts its generation) and raise."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(until_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        # logged because a client that is in fact still waiting would hang here: the next such report says so
        log.info("client disconnected before the response to %s %s: generation cancelled",
                 request.method, request.url.path)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        raise asyncio.CancelledError("client disconnected")
    finally:
        watcher.cancel()

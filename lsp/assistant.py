"""Talking to the model server: a streamed chat completion through the `openai` async client.

Cancelling the task that runs :func:`stream_chat` leaves the ``async with`` block of the stream, which closes
the HTTP response and its connection, so the server sees the disconnect and stops generating.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import openai

from .settings import Settings


class ModelError(Exception):
    """The model server answered with an error (bad model name, overload, ...)."""


class ModelUnavailable(ModelError):
    """The model server could not be reached (refused, timed out, DNS)."""


async def stream_chat(
    settings: Settings, messages: list[dict], on_text: Callable[[str], None], *, min_interval: float = 0.05
) -> str:
    """Stream an answer; ``on_text`` gets the full text so far, at most every ``min_interval`` seconds and once
    at the end. Returns the full answer."""
    client = openai.AsyncOpenAI(
        base_url=settings.endpoint,
        api_key=settings.api_key(),
        timeout=settings.request_timeout,
        max_retries=0,
    )
    text, last = "", 0.0
    try:
        stream = await client.chat.completions.create(
            model=settings.model,
            messages=messages,
            stream=True,
            max_tokens=settings.max_tokens,
            temperature=0.2,
        )
        async with stream:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content or ""
                if not delta:
                    continue
                text += delta
                now = time.monotonic()
                if now - last >= min_interval:
                    on_text(text)
                    last = now
        on_text(text)
        return text
    except openai.APIConnectionError as e:  # includes APITimeoutError
        kind = "timed out" if isinstance(e, openai.APITimeoutError) else "is unreachable"
        raise ModelUnavailable(
            f"The Aletheia model server at {settings.endpoint} {kind} "
            f"({type(e.__cause__ or e).__name__}). Start it with `python -m server` or set "
            "aletheia.endpoint."
        ) from None
    except openai.APIStatusError as e:
        detail = _error_detail(e)
        raise ModelError(
            f"The model server at {settings.endpoint} answered HTTP {e.status_code}: {detail}"
        ) from None
    finally:
        await client.close()


def _error_detail(e: openai.APIStatusError) -> str:
    body = e.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(body.get("detail"), str):
            return body["detail"]
    return e.message

"""Helpers shared by the generation routes: sampling parameters, SSE framing, logprob formatting."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ..engines.base import Engine, SamplingParams, TokenLogprob
from ..errors import APIError, error_type, from_engine_error
from ..protocol import TokenLogprob as ChatTokenLogprob
from ..protocol import TopLogprob
from ..registry import ModelSpec

log = logging.getLogger("server.http")

# A stream still sending this long after its deadline is stuck on a client that reads nothing: cut it.
STUCK_STREAM_GRACE = 5.0


def sampling_params(body, *, max_tokens: int | None, logprobs: int | None, grammar: str | None = None) -> SamplingParams:
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        seed=body.seed,
        presence_penalty=body.presence_penalty,
        frequency_penalty=body.frequency_penalty,
        top_k=max(body.top_k or 0, 0),
        min_p=body.min_p or 0.0,
        repetition_penalty=1.0 if body.repetition_penalty is None else body.repetition_penalty,
        logit_bias=body.logit_bias_pairs(),
        logprobs=logprobs,
        grammar=grammar,
    )


def sse(payload: BaseModel | dict, *, include_usage: bool = False) -> str:
    """One server-sent event; with ``include_usage`` a chunk writes ``"usage": null`` as OpenAI does."""
    if isinstance(payload, BaseModel):
        data = payload.model_dump_json(context={"include_usage": include_usage})
    else:
        data = json.dumps(payload)
    return f"data: {data}\n\n"


def system_fingerprint(spec: ModelSpec, engine: Engine) -> str:
    """Names the weights and engine configuration behind a response: the same fingerprint and seed give the
    same output (OpenAI's meaning of ``system_fingerprint``)."""
    key = f"{spec.id}|{spec.path}|{spec.adapter}|{spec.created}|{type(engine).__name__}|{engine.n_ctx}"
    return "fp_" + hashlib.sha256(key.encode()).hexdigest()[:10]


SSE_DONE = "data: [DONE]\n\n"


def sse_error(exc: BaseException) -> str:
    err = exc if isinstance(exc, APIError) else from_engine_error(exc)
    return sse({"error": {"message": err.message, "type": error_type(err.status), "param": err.param,
                          "code": err.code}})


def token_string(engine: Engine, token: int) -> str:
    return engine.token_bytes(token).decode("utf-8", "replace")


def chat_logprobs(engine: Engine, entries: list[TokenLogprob]) -> list[ChatTokenLogprob]:
    out = []
    for e in entries:
        raw = engine.token_bytes(e.token)
        out.append(ChatTokenLogprob(
            token=raw.decode("utf-8", "replace"), logprob=e.logprob if e.logprob is not None else 0.0,
            bytes=list(raw),
            top_logprobs=[TopLogprob(token=token_string(engine, t), logprob=lp, bytes=list(engine.token_bytes(t)))
                          for t, lp in e.top],
        ))
    return out


class EventStreamResponse(StreamingResponse):
    """Server-sent events with an upper bound on the whole response: a client that stops reading blocks the
    sends, not the generation, so at ``deadline`` + a grace period the response is abandoned and the
    connection dropped (the route's own deadline reports a timeout in-band to clients that do read)."""

    def __init__(self, content: AsyncIterator[str], *, deadline: float) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        self.deadline = deadline

    async def __call__(self, scope, receive, send) -> None:
        try:
            async with asyncio.timeout_at(self.deadline + STUCK_STREAM_GRACE):
                await super().__call__(scope, receive, send)
        except TimeoutError:
            log.warning("a stream to %s was still blocked on its client %.0f s after its deadline: dropped",
                        scope.get("client"), STUCK_STREAM_GRACE)
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def check_token_ids(engine: Engine, ids: list[int], param: str) -> None:
    """Token ids a client sends must be in the model's vocabulary: llama.cpp fails a whole batch on one bad id."""
    n_vocab = getattr(getattr(engine, "model", None), "n_vocab", None)
    bad = [t for t in ids if t < 0 or (n_vocab is not None and t >= n_vocab)]
    if bad:
        where = f"0 to {n_vocab - 1}" if n_vocab is not None else "non-negative"
        raise APIError(400, f"token ids in '{param}' must be in this model's vocabulary ({where}); got {bad[0]}",
                       param=param, code="invalid_value")

"""POST /v1/embeddings: mean-pooled, L2-normalised hidden states from the model (llama.cpp embeddings)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Depends, Request

from ..deps import ServerState, cancel_on_disconnect, get_state, off_loop_if_large, parse_body
from ..engines.base import Engine, EngineError
from ..errors import APIError, from_engine_error
from ..gateway import reserve
from ..protocol import Embedding, EmbeddingList, EmbeddingRequest
from .common import check_token_ids

router = APIRouter()

# Inputs embedded per call into the engine: between calls a disconnect or the request's deadline stops the work.
EMBED_CHUNK = 16


def _token_lists(engine: Engine, inp) -> list[list[int]]:
    if isinstance(inp, str):
        return [engine.tokenize(inp, add_special=True)]
    if all(isinstance(x, int) for x in inp):
        check_token_ids(engine, inp, "input")
        return [list(inp)]
    for x in inp:
        if not isinstance(x, str):
            check_token_ids(engine, x, "input")
    return [engine.tokenize(x, add_special=True) if isinstance(x, str) else list(x) for x in inp]


async def _embed_in_chunks(engine: Engine, items: list[list[int]]) -> list[list[float]]:
    vectors: list[list[float]] = []
    for start in range(0, len(items), EMBED_CHUNK):
        vectors += await engine.embed(items[start:start + EMBED_CHUNK])
    return vectors


@router.post("/v1/embeddings")
async def embeddings(request: Request, state: ServerState = Depends(get_state)):
    body = await parse_body(request, EmbeddingRequest)
    _, engine = state.registry.get(body.model)
    inp = body.input
    limit = state.settings.max_embedding_inputs
    if isinstance(inp, list) and not all(isinstance(x, int) for x in inp) and len(inp) > limit:
        raise APIError(400, f"'input' holds {len(inp)} inputs; this server embeds at most {limit} in one request "
                            "(--max-embedding-inputs)", param="input", code="invalid_value")
    chars = len(inp) if isinstance(inp, str) else sum(len(x) for x in inp if isinstance(x, str))
    items = await off_loop_if_large(chars, _token_lists, engine, inp)
    if any(not tokens for tokens in items):
        raise APIError(400, "an input is empty", param="input", code="invalid_value")
    if body.dimensions is not None:
        raise APIError(400, "'dimensions' is not supported: this model has a fixed embedding size", param="dimensions")
    n = sum(len(t) for t in items)
    await reserve(n, n)  # the key's limits and budget (429)
    try:
        vectors = await cancel_on_disconnect(request, _embed_in_chunks(engine, items))
    except (EngineError, ValueError) as exc:
        raise from_engine_error(exc) from None
    data = []
    for i, vec in enumerate(vectors):
        value = base64.b64encode(np.asarray(vec, dtype=np.float32).tobytes()).decode() \
            if body.encoding_format == "base64" else vec
        data.append(Embedding(index=i, embedding=value))
    return EmbeddingList(data=data, model=body.model, usage={"prompt_tokens": n, "total_tokens": n}).model_dump()

"""POST /v1/embeddings: mean-pooled, L2-normalised hidden states from the model (llama.cpp embeddings)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Depends, Request

from ..deps import ServerState, get_state, parse_body
from ..engines.base import EngineError
from ..errors import APIError, from_engine_error
from ..gateway import reserve
from ..protocol import Embedding, EmbeddingList, EmbeddingRequest

router = APIRouter()


@router.post("/v1/embeddings")
async def embeddings(request: Request, state: ServerState = Depends(get_state)):
    body = await parse_body(request, EmbeddingRequest)
    _, engine = state.registry.get(body.model)
    inp = body.input
    if isinstance(inp, str):
        items = [engine.tokenize(inp, add_special=True)]
    elif all(isinstance(x, int) for x in inp):
        items = [list(inp)]
    else:
        items = [engine.tokenize(x, add_special=True) if isinstance(x, str) else list(x) for x in inp]
    if any(not tokens for tokens in items):
        raise APIError(400, "an input is empty", param="input", code="invalid_value")
    if body.dimensions is not None:
        raise APIError(400, "'dimensions' is not supported: this model has a fixed embedding size", param="dimensions")
    n = sum(len(t) for t in items)
    await reserve(n, n)  # the key's limits and budget (429)
    try:
        vectors = await engine.embed(items)
    except (EngineError, ValueError) as exc:
        raise from_engine_error(exc) from None
    data = []
    for i, vec in enumerate(vectors):
        value = base64.b64encode(np.asarray(vec, dtype=np.float32).tobytes()).decode() \
            if body.encoding_format == "base64" else vec
        data.append(Embedding(index=i, embedding=value))
    return EmbeddingList(data=data, model=body.model, usage={"prompt_tokens": n, "total_tokens": n}).model_dump()

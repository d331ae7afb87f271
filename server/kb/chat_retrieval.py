"""Retrieval for chat completions: the ``knowledge`` extension field.

    {"model": "aletheia-base", "messages": [...],
     "knowledge": {"vector_store_ids": ["vs_...", "docs"], "max_num_results": 5}}

The last user message is searched in the stores and rewritten into the retrieved-context form of
``aletheia.tasks`` (numbered passages and the instruction to answer only from them and to say when they do
not hold the answer). The answer's ``[n]`` markers come back as OpenAI ``url_citation`` annotations on the
message (on a stream: one delta with ``annotations`` before each choice's finish chunk), and the response
carries ``knowledge.passages``: every passage the model was given, with its file, lines and link.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import APIError
from .catalog import StoreNotFound
from .service import Retrieved, annotations, grounded_question, sources


class KnowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    vector_store_ids: list[str] = Field(min_length=1)
    max_num_results: int = Field(5, ge=1, le=20)


class ChatRetrieval:
    def __init__(self, retrieved: list[Retrieved]) -> None:
        self.retrieved = retrieved

    def extension(self) -> dict:
        return {"passages": sources(self.retrieved)}

    def annotate(self, completion: dict) -> dict:
        for choice in completion.get("choices", []):
            message = choice.get("message") or {}
            message["annotations"] = annotations(message.get("content") or "", self.retrieved)
        completion["knowledge"] = self.extension()
        return completion

    async def annotate_stream(self, chunks: AsyncIterator[str]) -> AsyncIterator[str]:
        texts: dict[int, list[str]] = {}
        first = True
        async for raw in chunks:
            data = raw[len("data: "):].strip() if raw.startswith("data: ") else ""
            if not data or data == "[DONE]":
                yield raw
                continue
            chunk = json.loads(data)
            if first and "choices" in chunk:
                chunk["knowledge"], first = self.extension(), False
                raw = f"data: {json.dumps(chunk)}\n\n"
            for choice in chunk.get("choices", []):
                delta = choice.get("delta") or {}
                texts.setdefault(choice["index"], []).append(delta.get("content") or "")
                if choice.get("finish_reason"):
                    found = annotations("".join(texts[choice["index"]]), self.retrieved)
                    if found:
                        extra = {**chunk, "choices": [{"index": choice["index"], "delta": {"annotations": found},
                                                       "logprobs": None, "finish_reason": None}]}
                        extra.pop("knowledge", None)
                        yield f"data: {json.dumps(extra)}\n\n"
            yield raw


async def prepare(request: Request, body) -> ChatRetrieval | None:
    """Search the stores a request's ``knowledge`` field names and ground its last user message; ``None``
    when the request has no ``knowledge``."""
    raw = (body.model_extra or {}).get("knowledge")
    if raw is None:
        return None
    try:
        spec = KnowledgeRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in first["loc"])
        param = f"knowledge.{where}" if where else "knowledge"
        raise APIError(400, f"Invalid value for '{param}': {first['msg']}", param=param,
                       code="invalid_value") from None
    users = [i for i, m in enumerate(body.messages) if m.role == "user"]
    if not users:
        raise APIError(400, "'knowledge' needs a user message to search for.", param="messages",
                       code="invalid_value")
    question = body.messages[users[-1]].text()
    kb = request.app.state.kb
    try:
        retrieved = await kb.search(spec.vector_store_ids, question, spec.max_num_results)
    except StoreNotFound as exc:
        raise APIError(404, str(exc), param="knowledge.vector_store_ids", code="not_found") from None
    message = body.messages[users[-1]]
    body.messages[users[-1]] = message.model_copy(update={"content": grounded_question(question, retrieved)})
    return ChatRetrieval(retrieved)

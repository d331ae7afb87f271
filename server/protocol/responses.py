"""The response bodies we send, field for field as OpenAI sends them.

OpenAI writes some absent values as ``null`` (``logprobs`` and ``finish_reason`` in every choice,
``refusal``, ``system_fingerprint``, and ``usage`` on every chunk of a stream that asked for usage) and
leaves others out (a delta's unchanged fields, ``tool_calls`` when there are none). Each model lists the
fields it leaves out when ``None`` (``_omit_if_none``); every other field is always written. A chunk's
``usage`` is written as ``null`` only when the request asked for usage: dump it with
``context={"include_usage": True}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, SerializationInfo, model_serializer

SERVICE_TIER = "default"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


class _Response(BaseModel):
    _omit_if_none: ClassVar[frozenset[str]] = frozenset()
    _null_when: ClassVar[dict[str, str]] = {}  # field -> serialisation-context flag that keeps its null

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        context = info.context or {}
        for key in self._omit_if_none:
            if key in data and data[key] is None and not context.get(self._null_when.get(key, "")):
                del data[key]
        return data


class PromptTokensDetails(_Response):
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused instead of decoded
    audio_tokens: int = 0


class CompletionTokensDetails(_Response):
    reasoning_tokens: int = 0
    audio_tokens: int = 0
    accepted_prediction_tokens: int = 0
    rejected_prediction_tokens: int = 0


class Usage(_Response):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails = PromptTokensDetails()
    completion_tokens_details: CompletionTokensDetails = CompletionTokensDetails()


class TopLogprob(_Response):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(_Response):
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class ResponseMessage(_Response):
    _omit_if_none = frozenset({"tool_calls", "function_call"})

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    function_call: dict[str, str] | None = None  # answers to the deprecated functions API


class ChatChoice(_Response):
    index: int
    message: ResponseMessage
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None


class ChatCompletion(_Response):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None
    service_tier: str = SERVICE_TIER


class ChatDelta(_Response):
    _omit_if_none = frozenset({"role", "content", "tool_calls", "function_call"})

    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    function_call: dict[str, str] | None = None


class ChatChunkChoice(_Response):
    index: int
    delta: ChatDelta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None


class _Chunked(_Response):
    _omit_if_none = frozenset({"usage"})
    _null_when = {"usage": "include_usage"}


class ChatCompletionChunk(_Chunked):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = None
    service_tier: str = SERVICE_TIER
    choices: list[ChatChunkChoice]
    usage: Usage | None = None


class CompletionLogprobs(_Response):
    tokens: list[str] = []
    token_logprobs: list[float | None] = []
    top_logprobs: list[dict[str, float] | None] = []
    text_offset: list[int] = []


class CompletionChoice(_Response):
    index: int
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None


class Completion(_Chunked):
    """A legacy completion, and (with ``usage`` left out or ``null``) one chunk of a streamed one."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[CompletionChoice]
    usage: Usage | None = None


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: dict[str, int]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "aletheia"
    # Extra, non-OpenAI fields that help a user see what they talk to.
    path: str | None = None
    root: str | None = None  # vLLM's fields: the weights file, and for an adapter the model it is served over
    parent: str | None = None
    context_length: int | None = None
    aliases: list[str] = []


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]

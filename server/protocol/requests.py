"""The request bodies we accept, validated strictly: a string where a number belongs is a 400, not a silent
coercion. Unknown fields are accepted and ignored, as OpenAI-compatible servers do, so newer clients keep
working; known fields we cannot honour are a 400 naming the field (``FieldError``); ``null`` means a field's
default. The deprecated functions API is read as tools.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class FieldError(ValueError):
    """A request problem found by a model validator, naming the field (relative to that model) for ``param``."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        """An explicit ``null`` for a field that has a default means that default, as OpenAI reads it
        (clients serialise unset options as ``"n": null``, ``"stream": null``, ``"presence_penalty": null``)."""
        if isinstance(data, dict):
            defaulted = _defaulted_on_null(cls)
            if any(data.get(key, 0) is None for key in defaulted):
                data = {k: v for k, v in data.items() if not (v is None and k in defaulted)}
        return data


@cache
def _defaulted_on_null(cls: type[BaseModel]) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in cls.model_fields.items()
                     if not f.is_required() and f.default is not None)


# Content the model cannot read: a clear 400 rather than a prompt silently missing its picture or sound.
_UNREADABLE_PARTS = {"image_url": "images", "input_image": "images", "input_audio": "audio", "file": "files"}


class ContentPart(_Request):
    """One part of a message's content: ``text`` (any role) or ``refusal`` (an assistant's earlier turn)."""

    type: str
    text: str | None = None
    refusal: str | None = None

    @model_validator(mode="after")
    def _readable(self) -> ContentPart:
        if self.type in _UNREADABLE_PARTS:
            raise FieldError("type", f"content parts of type '{self.type}' are not supported: this model reads "
                                     f"text only, not {_UNREADABLE_PARTS[self.type]}")
        if self.type not in ("text", "refusal"):
            raise FieldError("type", f"unknown content part type '{self.type}'; this model reads 'text' parts")
        if getattr(self, self.type) is None:
            raise FieldError(self.type, f"a '{self.type}' content part needs '{self.type}'")
        return self

    def value(self) -> str:
        return self.text if self.type == "text" else self.refusal


class FunctionCall(_Request):
    name: str
    arguments: str


class ToolCall(_Request):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None  # legacy: an assistant's call in the `functions` API

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.value() for part in self.content)

    @model_validator(mode="after")
    def _check_content(self) -> ChatMessage:
        # an assistant turn may be empty (content null, no calls): clients replay such turns, vLLM takes them
        if self.content is None and self.role != "assistant":
            raise FieldError("content", f"a {self.role} message needs 'content'")
        if self.role == "tool" and not self.tool_call_id:
            raise FieldError("tool_call_id", "a tool message needs 'tool_call_id'")
        if self.role == "function" and not self.name:
            raise FieldError("name", "a function message needs the 'name' of the function it answers")
        return self


class StreamOptions(_Request):
    include_usage: bool = False


Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]


class _SamplingFields(_Request):
    model: str
    max_tokens: Annotated[int, Field(ge=0)] | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    n: Annotated[int, Field(ge=1, le=16)] = 1
    stop: str | Annotated[list[str], Field(max_length=16)] | None = None
    seed: int | None = None
    presence_penalty: Penalty = 0.0
    frequency_penalty: Penalty = 0.0
    stream: bool = False
    stream_options: StreamOptions | None = None  # read only when streaming, ignored otherwise
    user: str | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100.0, le=100.0)]] | None = None
    # extensions that vLLM and llama.cpp's server accept (Open WebUI and others send them): 0 / 0.0 / 1.0 = off
    top_k: Annotated[int, Field(ge=-1)] | None = None  # -1 (vLLM) or 0 (llama.cpp): off
    min_p: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    repetition_penalty: Annotated[float, Field(gt=0.0, le=2.0)] | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        return [s for s in stops if s]

    def include_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    def logit_bias_pairs(self) -> tuple[tuple[int, float], ...]:
        """``logit_bias`` as (token id, bias); the ids are this model's (as with vLLM), not tiktoken's."""
        return tuple((int(token), bias) for token, bias in (self.logit_bias or {}).items())

    @model_validator(mode="after")
    def _logit_bias_keys(self):
        for token in self.logit_bias or {}:
            if not token.strip().lstrip("-").isdigit():
                raise FieldError("logit_bias", f"logit_bias keys are token ids; {token!r} is not an integer")
        return self


class FunctionDefinition(_Request):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Request):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Request):
    name: str


class NamedToolChoice(_Request):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaFormat(_Request):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    description: str | None = None
    strict: bool | None = None


class ResponseFormat(_Request):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_present(self):
        if self.type == "json_schema" and self.json_schema is None:
            raise FieldError("json_schema", "'json_schema' is required when type is 'json_schema'")
        return self


class ChatCompletionRequest(_SamplingFields):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: Annotated[int, Field(ge=0)] | None = None
    logprobs: bool = False
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    functions: list[FunctionDefinition] | None = None  # deprecated functions API, read as `tools`
    function_call: Literal["none", "auto"] | NamedFunction | None = None  # ... and as `tool_choice`
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.top_logprobs is not None and not self.logprobs:
            raise FieldError("top_logprobs", "'top_logprobs' requires 'logprobs' to be true")
        if self.audio is not None or set(self.modalities or ()) - {"text"}:
            raise FieldError("audio" if self.audio is not None else "modalities",
                             "this model answers in text only: audio output is not supported")
        return self._read_functions_as_tools()

    @property
    def uses_functions(self) -> bool:
        """The request speaks the deprecated functions API: answer with ``function_call``, not ``tool_calls``."""
        return self.functions is not None

    def _read_functions_as_tools(self) -> ChatCompletionRequest:
        if self.functions is not None:
            if self.tools is not None:
                raise FieldError("functions", "send 'tools' or the deprecated 'functions', not both")
            self.tools = [Tool(type="function", function=f) for f in self.functions]
            self.parallel_tool_calls = False  # the functions API makes at most one call
        if self.function_call is not None:
            if self.tool_choice is not None:
                raise FieldError("function_call", "send 'tool_choice' or the deprecated 'function_call', not both")
            self.tool_choice = self.function_call if isinstance(self.function_call, str) else \
                NamedToolChoice(type="function", function=self.function_call)
        messages, last_call = [], None
        for i, m in enumerate(self.messages):
            if m.role == "assistant" and m.function_call and not m.tool_calls:
                last_call = f"call_function_{i}"
                m = m.model_copy(update={"tool_calls": [ToolCall(id=last_call, function=m.function_call)]})
            elif m.role == "function":
                if last_call is None:
                    raise FieldError(f"messages[{i}]", "a function message must follow an assistant message with "
                                                       "a 'function_call'")
                m = m.model_copy(update={"role": "tool", "tool_call_id": last_call})
            messages.append(m)
        self.messages = messages
        return self

    def token_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class CompletionRequest(_SamplingFields):
    prompt: str | list[str] | list[int] | list[list[int]]
    echo: bool = False
    logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    suffix: str | None = None
    best_of: Annotated[int, Field(ge=1)] | None = None
    max_tokens: Annotated[int, Field(ge=0)] | None = 16  # OpenAI's default for legacy completions

    @field_validator("prompt")
    @classmethod
    def _non_empty(cls, v):
        if isinstance(v, list) and not v:
            raise ValueError("'prompt' must not be an empty list")
        return v

    @model_validator(mode="after")
    def _supported(self):
        if self.suffix:
            raise FieldError("suffix", "'suffix' (fill-in-the-middle) is not supported by this model")
        if self.best_of is not None and self.best_of != self.n:
            raise FieldError("best_of", "'best_of' other than 'n' is not supported: ask for n choices and rank them")
        return self


class EmbeddingRequest(_Request):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _non_empty(cls, v):
        if isinstance(v, list) and not v:
            raise ValueError("'input' must not be an empty list")
        return v

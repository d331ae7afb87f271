"""POST /v1/chat/completions: chat messages through the model's own chat template, streamed or not."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request

from .. import chat_template, tool_parsers
from ..deps import (
    ServerState,
    cancel_on_disconnect,
    deadline,
    get_state,
    off_loop_if_large,
    parse_body,
    request_id,
    until_deadline,
)
from ..engines.base import Engine, EngineError, GenerationRequest, PromptLogprobs
from ..errors import APIError, from_engine_error
from ..gateway import reserve
from ..generation import Delta, GenerationRun, usage
from ..grammar import JSON_OBJECT_SCHEMA, MAX_STRING_CHARS, SchemaError, schema_grammar
from ..kb import chat_retrieval
from ..protocol import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChatMessage,
    ChoiceLogprobs,
    ResponseMessage,
    new_id,
    now,
)
from .common import (
    SSE_DONE,
    EventStreamResponse,
    chat_logprobs,
    sampling_params,
    sse,
    sse_error,
    system_fingerprint,
)

log = logging.getLogger("server.http")
router = APIRouter()


def template_messages(messages: list[ChatMessage]) -> list[dict]:
    out = []
    for m in messages:
        item: dict = {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        if m.name:
            item["name"] = m.name
        if m.tool_calls:
            item["tool_calls"] = [tc.model_dump() for tc in m.tool_calls]
        if m.tool_call_id:
            item["tool_call_id"] = m.tool_call_id
        out.append(item)
    return out


def render_prompt(engine: Engine, messages: list[dict], tools: list[dict] | None = None) -> list[int]:
    try:
        text = chat_template.render(engine.chat_template, messages, special_tokens=engine.special_tokens,
                                    tools=tools)
    except chat_template.TemplateError as exc:
        raise APIError(400, str(exc), param="messages", code="invalid_messages") from None
    bos = engine.special_tokens.get("bos_token", "")
    # the template may already write the BOS token; never add a second one
    return engine.tokenize(text, add_special=engine.adds_bos and not (bos and text.startswith(bos)))


@dataclass
class ToolPlan:
    """What the request asks of tools and structured output, resolved against the engine's template."""

    mode: str  # none | auto | required
    fmt: tool_parsers.ToolFormat
    grammar: str | None
    functions: bool = False  # answer in the deprecated functions API's shape (`function_call`)

    def message(self, calls: list[dict]) -> ResponseMessage:
        """The message of a choice that is calls (none yet, when max_tokens cut the first one short)."""
        if self.functions:
            return ResponseMessage(content=None, function_call=calls[0]["function"] if calls else None)
        return ResponseMessage(content=None, tool_calls=calls or None)

    def calls_reason(self) -> str:
        return "function_call" if self.functions else "tool_calls"


def plan_tools(
    body: ChatCompletionRequest, engine: Engine, max_string: int = MAX_STRING_CHARS
) -> tuple[ToolPlan, list[dict], list[dict] | None]:
    try:
        tools, mode = tool_parsers.validate_tool_request(body)
        fmt = tool_parsers.select_format(engine.chat_template)
        messages, template_tools = template_messages(body.messages), None
        if tools or any(m.role == "tool" or m.tool_calls for m in body.messages):
            messages, template_tools = fmt.prepare(messages, tools, mode)
        grammar = None
        if mode != "none":
            grammar = fmt.grammar(tools, mode, body.parallel_tool_calls, max_string)
        elif body.response_format is not None and body.response_format.type == "json_object":
            grammar = schema_grammar(JSON_OBJECT_SCHEMA, "response_format", max_string)
        elif body.response_format is not None and body.response_format.type == "json_schema":
            js = body.response_format.json_schema
            if js.schema_ is None:
                raise SchemaError("'response_format.json_schema.schema' is required", "response_format.json_schema")
            grammar = schema_grammar(js.schema_, "response_format.json_schema.schema", max_string)
    except (tool_parsers.ToolRequestError, SchemaError) as exc:
        raise APIError(400, str(exc), param=exc.param, code="invalid_value") from None
    return ToolPlan(mode, fmt, grammar, body.uses_functions), messages, template_tools


@router.post("/v1/chat/completions")
async def chat_completions(request: Request, state: ServerState = Depends(get_state)):
    started = time.perf_counter()
    body = await parse_body(request, ChatCompletionRequest)
    spec, engine = state.registry.get(body.model)
    knowledge = await chat_retrieval.prepare(request, body)  # the `knowledge` extension: None without it
    plan, messages, template_tools = plan_tools(body, engine, state.settings.json_max_string)
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    prompt = await off_loop_if_large(chars, render_prompt, engine, messages, template_tools)
    k = (body.top_logprobs or 0) if body.logprobs else None
    params = sampling_params(body, max_tokens=body.token_limit(), logprobs=k, grammar=plan.grammar)
    new_tokens = params.max_tokens if params.max_tokens is not None else engine.n_ctx - len(prompt)
    await reserve(len(prompt), len(prompt) + body.n * max(new_tokens, 0))  # the key's limits and budget (429)
    try:
        stream = engine.generate(GenerationRequest(prompt, params, n=body.n))
    except (EngineError, ValueError) as exc:
        raise from_engine_error(exc) from None
    log.debug("request %s: enqueued (%d prompt tokens, n=%d)", request_id(request), len(prompt), body.n)
    run = GenerationRun(stream, n=body.n, stops=body.stop_list(), prompt_tokens=len(prompt), model=spec.id,
                        metrics=state.metrics, started=started, request_id=request_id(request))
    head = _Head(new_id("chatcmpl"), now(), body.model, system_fingerprint(spec, engine))
    if body.stream:
        chunks = _stream(run, until_deadline(request, run.events()), engine, body, plan, head)
        return EventStreamResponse(knowledge.annotate_stream(chunks) if knowledge else chunks,
                                   deadline=deadline(request))
    result = await cancel_on_disconnect(request, _complete(run, engine, body, plan, head))
    return knowledge.annotate(result) if knowledge else result


@dataclass
class _Head:
    """The fields every response and chunk of one request repeats."""

    id: str
    created: int
    model: str
    system_fingerprint: str


def _is_call(plan: ToolPlan, text: str) -> bool:
    return plan.mode != "none" and text.lstrip()[:1] == plan.fmt.call_start


async def _complete(run: GenerationRun, engine: Engine, body: ChatCompletionRequest, plan: ToolPlan, head: _Head):
    texts = [[] for _ in range(body.n)]
    logprobs = [[] for _ in range(body.n)]
    finish = [None] * body.n
    try:
        async for ev in run.events():
            if isinstance(ev, Delta):
                texts[ev.index].append(ev.text)
                logprobs[ev.index].extend(ev.logprobs)
                finish[ev.index] = ev.finish_reason or finish[ev.index]
    except EngineError as exc:
        raise from_engine_error(exc) from None
    choices = []
    for i in range(body.n):
        text, reason = "".join(texts[i]), finish[i] or "stop"
        message = ResponseMessage(content=text)
        if _is_call(plan, text):
            # a call cut off by max_tokens is returned as the calls so far, as the stream gave them
            calls = plan.fmt.parse(text) if reason == "stop" else tool_parsers.partial_calls(plan.fmt, text)
            message = plan.message([c.openai() for c in calls])
            reason = plan.calls_reason() if reason == "stop" else reason
        choices.append(ChatChoice(index=i, message=message, finish_reason=reason, logprobs=ChoiceLogprobs(
            content=chat_logprobs(engine, logprobs[i])) if body.logprobs else None))
    return ChatCompletion(id=head.id, created=head.created, model=head.model, choices=choices, usage=usage([run]),
                          system_fingerprint=head.system_fingerprint).model_dump()


class _StreamedChoice:
    """Classifies one streamed choice as content or tool calls from its first character, then emits deltas."""

    def __init__(self, plan: ToolPlan) -> None:
        self.plan = plan
        self.kind = "content" if plan.mode == "none" else "undecided"
        self.pending = ""
        self.scanner = tool_parsers.ToolCallScanner(plan.fmt.call_depth)
        self.ids: dict[int, str] = {}
        # The role goes first: with content, in its own chunk with content "" (as OpenAI sends it); with
        # calls, on the first call delta, so that clients see content null as in a non-streamed answer.
        self.role_sent = False

    def opening(self) -> list[ChatDelta]:
        """Deltas to send before any token: the role, unless the choice may turn out to be a call."""
        return self._content("") if self.kind == "content" else []

    def _content(self, text: str) -> list[ChatDelta]:
        deltas = [] if self.role_sent else [ChatDelta(role="assistant", content="")]
        self.role_sent = True
        return deltas + ([ChatDelta(content=text)] if text else [])

    def push(self, text: str) -> list[ChatDelta]:
        if self.kind == "undecided":
            self.pending += text
            if not self.pending.strip():
                return []
            self.kind = "tools" if _is_call(self.plan, self.pending) else "content"
            text, self.pending = self.pending, ""
        if self.kind == "content":
            return self._content(text)
        deltas = []
        for kind, index, value in self.scanner.feed(text):
            if kind == "name":
                self.ids[index] = tool_parsers.new_call_id()
                deltas.append(self._call_delta({"index": index, "id": self.ids[index], "type": "function",
                                                "function": {"name": value, "arguments": ""}}))
            else:
                deltas.append(self._call_delta({"index": index, "function": {"arguments": value}}))
        return deltas

    def _call_delta(self, call: dict) -> ChatDelta:
        role = None if self.role_sent else "assistant"
        self.role_sent = True
        if self.plan.functions:  # the functions API streams one call as `function_call` fragments
            function = {k: v for k, v in call["function"].items() if k == "arguments" or call.get("id")}
            return ChatDelta(role=role, function_call=function)
        return ChatDelta(role=role, tool_calls=[call])

    def closing(self) -> list[ChatDelta]:
        """Deltas owed before the finish chunk: text held while undecided, or at least the role."""
        if self.kind == "undecided" and self.pending:
            text, self.pending = self.pending, ""
            return self._content(text)
        return [] if self.role_sent else self._content("")

    def finish_reason(self, reason: str) -> str:
        return self.plan.calls_reason() if self.kind == "tools" and reason == "stop" else reason


async def _stream(run: GenerationRun, events: AsyncIterator[Delta | PromptLogprobs], engine: Engine,
                  body: ChatCompletionRequest, plan: ToolPlan, head: _Head):
    include_usage = body.include_usage()

    def chunk(choices: list[ChatChunkChoice], **fields) -> str:
        return sse(ChatCompletionChunk(id=head.id, created=head.created, model=head.model, choices=choices,
                                       system_fingerprint=head.system_fingerprint, **fields),
                   include_usage=include_usage)

    states = [_StreamedChoice(plan) for _ in range(body.n)]
    try:
        for i, state in enumerate(states):
            for delta in state.opening():
                yield chunk([ChatChunkChoice(index=i, delta=delta)])
        async for ev in events:
            if not isinstance(ev, Delta):
                continue
            state = states[ev.index]
            lp = ChoiceLogprobs(content=chat_logprobs(engine, ev.logprobs)) if body.logprobs and ev.logprobs else None
            deltas = state.push(ev.text)
            if lp and not deltas:
                deltas = [ChatDelta()]
            for j, delta in enumerate(deltas):
                yield chunk([ChatChunkChoice(index=ev.index, delta=delta, logprobs=lp if j == 0 else None)])
            if ev.finish_reason:
                for delta in state.closing():
                    yield chunk([ChatChunkChoice(index=ev.index, delta=delta)])
                yield chunk([ChatChunkChoice(index=ev.index, delta=ChatDelta(),
                                             finish_reason=state.finish_reason(ev.finish_reason))])
        if include_usage:
            yield chunk([], usage=usage([run]))
        yield SSE_DONE
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # headers are sent: report in-band, the way OpenAI does
        yield sse_error(exc)
        yield SSE_DONE

"""POST /v1/chat/completions: chat messages through the model's own chat template, streamed or not."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from .. import chat_template
from ..deps import ServerState, cancel_on_disconnect, get_state, parse_body
from ..engines.base import Engine, EngineError, GenerationRequest
from ..errors import APIError, from_engine_error
from ..generation import Delta, GenerationRun
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
    Usage,
    new_id,
    now,
)
from .common import SSE_DONE, chat_logprobs, sampling_params, sse, sse_error

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


def render_prompt(engine: Engine, messages: list[ChatMessage], tools: list[dict] | None = None) -> list[int]:
    try:
        text = chat_template.render(engine.chat_template, template_messages(messages),
                                    special_tokens=engine.special_tokens, tools=tools)
    except chat_template.TemplateError as exc:
        raise APIError(400, str(exc), param="messages", code="invalid_messages") from None
    bos = engine.special_tokens.get("bos_token", "")
    # the template may already write the BOS token; never add a second one
    return engine.tokenize(text, add_special=engine.adds_bos and not (bos and text.startswith(bos)))


@router.post("/v1/chat/completions")
async def chat_completions(request: Request, state: ServerState = Depends(get_state)):
    started = time.perf_counter()
    body = await parse_body(request, ChatCompletionRequest)
    spec, engine = state.registry.get(body.model)
    prompt = render_prompt(engine, body.messages)
    k = (body.top_logprobs or 0) if body.logprobs else None
    params = sampling_params(body, max_tokens=body.token_limit(), logprobs=k)
    try:
        stream = engine.generate(GenerationRequest(prompt, params, n=body.n))
    except (EngineError, ValueError) as exc:
        raise from_engine_error(exc) from None
    run = GenerationRun(stream, n=body.n, stops=body.stop_list(), prompt_tokens=len(prompt), model=spec.id,
                        metrics=state.metrics, started=started)
    rid, created = new_id("chatcmpl"), now()
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(_stream(run, engine, body, rid, created, include_usage),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return await cancel_on_disconnect(request, _complete(run, engine, body, rid, created))


async def _complete(run: GenerationRun, engine: Engine, body: ChatCompletionRequest, rid: str, created: int):
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
    choices = [
        ChatChoice(index=i, message=ResponseMessage(content="".join(texts[i])), finish_reason=finish[i] or "stop",
                   logprobs=ChoiceLogprobs(content=chat_logprobs(engine, logprobs[i])) if body.logprobs else None)
        for i in range(body.n)
    ]
    usage = Usage(prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens,
                  total_tokens=run.prompt_tokens + run.completion_tokens)
    return ChatCompletion(id=rid, created=created, model=body.model, choices=choices, usage=usage).model_dump(
        exclude_none=True)


async def _stream(run: GenerationRun, engine: Engine, body: ChatCompletionRequest, rid: str, created: int,
                  include_usage: bool):
    def chunk(choices: list[ChatChunkChoice]) -> str:
        return sse(ChatCompletionChunk(id=rid, created=created, model=body.model, choices=choices))

    try:
        for i in range(body.n):
            yield chunk([ChatChunkChoice(index=i, delta=ChatDelta(role="assistant", content=""))])
        async for ev in run.events():
            if not isinstance(ev, Delta):
                continue
            if ev.text or ev.logprobs:
                lp = ChoiceLogprobs(content=chat_logprobs(engine, ev.logprobs)) if body.logprobs else None
                yield chunk([ChatChunkChoice(index=ev.index, delta=ChatDelta(content=ev.text), logprobs=lp)])
            if ev.finish_reason:
                yield chunk([ChatChunkChoice(index=ev.index, delta=ChatDelta(), finish_reason=ev.finish_reason)])
        if include_usage:
            usage = Usage(prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens,
                          total_tokens=run.prompt_tokens + run.completion_tokens)
            yield sse(ChatCompletionChunk(id=rid, created=created, model=body.model, choices=[], usage=usage))
        yield SSE_DONE
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # headers are sent: report in-band, the way OpenAI does
        yield sse_error(exc)
        yield SSE_DONE

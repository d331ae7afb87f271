"""POST /v1/responses: OpenAI's Responses API over the chat completions route.

A request becomes one chat completion run in-process (same template, sampling, tool grammar and stream):
``input`` (a string or items: messages, ``function_call``, ``function_call_output``) and ``instructions``
become messages, function tools become chat tools, and the ``file_search`` tool becomes the chat route's
``knowledge`` retrieval, whose citations come back as ``url_citation`` annotations. ``previous_response_id``
continues a conversation kept in memory (the last ``KEPT_RESPONSES`` responses of this process).
``stream: true`` sends the Responses events (``response.created`` ... ``response.output_text.delta`` ...
``response.completed``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..deps import ServerState, get_state, parse_body
from ..errors import APIError
from . import chat

router = APIRouter()

KEPT_RESPONSES = 1000
_kept: OrderedDict[str, list[dict]] = OrderedDict()  # response id -> the whole conversation as chat messages


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    previous_response_id: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stream: bool = False
    store: bool = True
    metadata: dict[str, str] | None = None


def _new(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") in
                       ("input_text", "output_text", "text"))
    raise APIError(400, "Invalid value for 'input': a message's content must be a string or text parts.",
                   param="input", code="invalid_value")


def input_messages(body: ResponsesRequest) -> list[dict]:
    """The request's input as chat messages (calls and their outputs as assistant tool calls and tool messages)."""
    if isinstance(body.input, str):
        return [{"role": "user", "content": body.input}]
    out: list[dict] = []
    for i, item in enumerate(body.input):
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise APIError(400, f"Invalid value for 'input[{i}].role': {role!r}.", param=f"input[{i}].role",
                               code="invalid_value")
            out.append({"role": role, "content": _text(item.get("content", ""))})
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments", "{}")}}
            if out and out[-1]["role"] == "assistant" and out[-1].get("tool_calls"):
                out[-1]["tool_calls"].append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": str(item.get("output", ""))})
        elif kind in ("file_search_call", "reasoning"):
            continue  # replayed items of earlier turns carry nothing the model reads
        else:
            raise APIError(400, f"Invalid value for 'input[{i}].type': '{kind}' is not supported here.",
                           param=f"input[{i}].type", code="invalid_value")
    return out


def chat_payload(body: ResponsesRequest, messages: list[dict]) -> dict:
    payload: dict[str, Any] = {"model": body.model, "messages": messages, "stream": body.stream}
    if body.stream:
        payload["stream_options"] = {"include_usage": True}
    for name, value in (("max_tokens", body.max_output_tokens), ("temperature", body.temperature),
                        ("top_p", body.top_p), ("parallel_tool_calls", body.parallel_tool_calls)):
        if value is not None:
            payload[name] = value
    functions = []
    for i, tool in enumerate(body.tools):
        if tool.get("type") == "function":
            functions.append({"type": "function", "function": {
                k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}})
        elif tool.get("type") == "file_search":
            ids = tool.get("vector_store_ids") or []
            payload["knowledge"] = {"vector_store_ids": ids, "max_num_results": min(20, tool.get("max_num_results", 5))}
        else:
            raise APIError(400, f"Invalid value for 'tools[{i}].type': '{tool.get('type')}' is not supported here "
                           "(function and file_search are).", param=f"tools[{i}].type", code="invalid_value")
    if functions:
        payload["tools"] = functions
    choice = body.tool_choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        payload["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif isinstance(choice, str) and functions:
        payload["tool_choice"] = choice
    return payload


async def _run_chat(request: Request, state: ServerState, payload: dict):
    """The chat completions route, called in-process on ``payload``; a client disconnect still reaches it."""
    raw = json.dumps(payload).encode()
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await request.receive()

    inner = Request({**request.scope, "path": "/v1/chat/completions"}, receive)
    return await chat.chat_completions(inner, state)


def _annotations(chat_annotations: list[dict] | None) -> list[dict]:
    out = []
    for a in chat_annotations or []:
        cite = a.get("url_citation", {})
        out.append({"type": "url_citation", "start_index": cite.get("start_index"), "end_index": cite.get("end_index"),
                    "url": cite.get("url"), "title": cite.get("title")})
    return out


def _usage(chat_usage: dict | None) -> dict:
    u = chat_usage or {}
    cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return {"input_tokens": u.get("prompt_tokens", 0), "output_tokens": u.get("completion_tokens", 0),
            "total_tokens": u.get("total_tokens", 0), "input_tokens_details": {"cached_tokens": cached},
            "output_tokens_details": {"reasoning_tokens": 0}}


def _envelope(body: ResponsesRequest, rid: str, created: int, status: str, output: list[dict],
              usage: dict | None, incomplete: bool = False) -> dict:
    return {"id": rid, "object": "response", "created_at": created, "status": status, "model": body.model,
            "output": output, "usage": usage, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.instructions, "previous_response_id": body.previous_response_id,
            "tools": body.tools, "tool_choice": body.tool_choice or "auto",
            "parallel_tool_calls": body.parallel_tool_calls if body.parallel_tool_calls is not None else True,
            "temperature": body.temperature if body.temperature is not None else 1.0,
            "top_p": body.top_p if body.top_p is not None else 1.0, "max_output_tokens": body.max_output_tokens,
            "text": {"format": {"type": "text"}}, "truncation": "disabled", "store": body.store,
            "metadata": body.metadata or {}}


def _search_item(payload: dict, messages: list[dict]) -> list[dict]:
    if "knowledge" not in payload:
        return []
    query = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return [{"type": "file_search_call", "id": _new("fs"), "status": "completed", "queries": [query],
             "results": None}]


def _remember(rid: str, messages: list[dict], output: list[dict]) -> None:
    turn = list(messages)
    calls = [{"id": o["call_id"], "type": "function", "function": {"name": o["name"], "arguments": o["arguments"]}}
             for o in output if o["type"] == "function_call"]
    text = "".join(c["text"] for o in output if o["type"] == "message" for c in o["content"])
    if calls:
        turn.append({"role": "assistant", "content": text or None, "tool_calls": calls})
    elif text:
        turn.append({"role": "assistant", "content": text})
    _kept[rid] = turn
    while len(_kept) > KEPT_RESPONSES:
        _kept.popitem(last=False)


@router.post("/v1/responses")
async def create_response(request: Request):
    state = get_state(request)
    body = await parse_body(request, ResponsesRequest)
    history: list[dict] = []
    if body.previous_response_id:
        if body.previous_response_id not in _kept:
            raise APIError(404, f"Previous response with id '{body.previous_response_id}' not found.",
                           param="previous_response_id", code="not_found")
        history = list(_kept[body.previous_response_id])  # instructions are not carried over, as OpenAI does
    system = [{"role": "system", "content": body.instructions}] if body.instructions else []
    turn = input_messages(body)
    messages = system + history + turn
    payload = chat_payload(body, messages)
    rid, created = _new("resp"), int(time.time())
    result = await _run_chat(request, state, payload)
    if body.stream:
        return StreamingResponse(_events(body, payload, history + turn, result.body_iterator, rid, created),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    choice = result["choices"][0]
    message = choice["message"]
    output = _search_item(payload, messages)
    if message.get("tool_calls"):
        output += [{"type": "function_call", "id": _new("fc"), "call_id": c["id"], "name": c["function"]["name"],
                    "arguments": c["function"]["arguments"], "status": "completed"} for c in message["tool_calls"]]
    else:
        output.append({"type": "message", "id": _new("msg"), "status": "completed", "role": "assistant",
                       "content": [{"type": "output_text", "text": message.get("content") or "",
                                    "annotations": _annotations(message.get("annotations"))}]})
    incomplete = choice.get("finish_reason") == "length"
    _remember(rid, history + turn, output)
    return _envelope(body, rid, created, "incomplete" if incomplete else "completed", output,
                     _usage(result.get("usage")), incomplete)


async def _events(body: ResponsesRequest, payload: dict, conversation: list[dict], chunks, rid: str, created: int):
    seq = 0

    def event(kind: str, **fields) -> str:
        nonlocal seq
        seq += 1
        return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': seq - 1, **fields})}\n\n"

    yield event("response.created", response=_envelope(body, rid, created, "in_progress", [], None))
    yield event("response.in_progress", response=_envelope(body, rid, created, "in_progress", [], None))
    output: list[dict] = []
    for item in _search_item(payload, payload["messages"]):
        yield event("response.output_item.added", output_index=len(output), item={**item, "status": "in_progress"})
        yield event("response.output_item.done", output_index=len(output), item=item)
        output.append(item)
    message: dict | None = None
    calls: dict[int, dict] = {}
    annotations: list[dict] = []
    usage, finish = None, None
    async for raw in chunks:
        data = raw[len("data: "):].strip() if raw.startswith("data: ") else ""
        if not data or data == "[DONE]":
            continue
        chunk = json.loads(data)
        if "error" in chunk:
            yield event("error", message=chunk["error"].get("message"), code=chunk["error"].get("code"), param=None)
            return
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            delta = choice.get("delta") or {}
            finish = choice.get("finish_reason") or finish
            annotations += _annotations(delta.get("annotations"))
            if delta.get("content"):
                if message is None:
                    message = {"type": "message", "id": _new("msg"), "status": "in_progress", "role": "assistant",
                               "content": [], "_index": len(output), "_text": ""}
                    yield event("response.output_item.added", output_index=message["_index"],
                                item={k: v for k, v in message.items() if not k.startswith("_")})
                    yield event("response.content_part.added", item_id=message["id"], output_index=message["_index"],
                                content_index=0, part={"type": "output_text", "text": "", "annotations": []})
                    output.append(message)
                message["_text"] += delta["content"]
                yield event("response.output_text.delta", item_id=message["id"], output_index=message["_index"],
                            content_index=0, delta=delta["content"])
            for tc in delta.get("tool_calls") or []:
                if tc["index"] not in calls:
                    call = {"type": "function_call", "id": _new("fc"), "call_id": tc.get("id"),
                            "name": tc["function"].get("name"), "arguments": "", "status": "in_progress"}
                    calls[tc["index"]] = call
                    yield event("response.output_item.added", output_index=len(output), item=dict(call))
                    call["_index"] = len(output)
                    output.append(call)
                call = calls[tc["index"]]
                piece = tc["function"].get("arguments") or ""
                if piece:
                    call["arguments"] += piece
                    yield event("response.function_call_arguments.delta", item_id=call["id"],
                                output_index=call["_index"], delta=piece)
    final: list[dict] = []
    for item in output:
        if item["type"] == "message":
            part = {"type": "output_text", "text": item["_text"], "annotations": annotations}
            done = {k: v for k, v in item.items() if not k.startswith("_")} | {"status": "completed",
                                                                                 "content": [part]}
            yield event("response.output_text.done", item_id=item["id"], output_index=item["_index"],
                        content_index=0, text=item["_text"])
            yield event("response.content_part.done", item_id=item["id"], output_index=item["_index"],
                        content_index=0, part=part)
            yield event("response.output_item.done", output_index=item["_index"], item=done)
            final.append(done)
        elif item["type"] == "function_call":
            done = {k: v for k, v in item.items() if not k.startswith("_")} | {"status": "completed"}
            yield event("response.function_call_arguments.done", item_id=item["id"], output_index=item["_index"],
                        arguments=item["arguments"])
            yield event("response.output_item.done", output_index=item["_index"], item=done)
            final.append(done)
        else:
            final.append(item)
    _remember(rid, conversation, final)
    incomplete = finish == "length"
    response = _envelope(body, rid, created, "incomplete" if incomplete else "completed", final, _usage(usage),
                         incomplete)
    yield event("response.incomplete" if incomplete else "response.completed", response=response)

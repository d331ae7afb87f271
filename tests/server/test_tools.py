"""Function calling and structured outputs on the real server with the bundled 135M model: validity comes
from constrained decoding, so it must hold for every seed."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import openai
import pytest
from pydantic import BaseModel

MODEL = "aletheia-base"
DISK = {"type": "function", "function": {
    "name": "disk_usage", "description": "Disk usage of a filesystem path",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                                                    "human_readable": {"type": "boolean"}},
                   "required": ["path"], "additionalProperties": False}}}
PORT = {"type": "function", "function": {
    "name": "port_listening", "description": "Whether a TCP port is listening on this host",
    "parameters": {"type": "object", "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                                    "protocol": {"enum": ["tcp", "udp"]}},
                   "required": ["port", "protocol"]}}}
TOOLS = [DISK, PORT]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
ASK = [{"role": "system", "content": "You are an ops assistant with tools."},
       {"role": "user", "content": "Is anything listening on port 5432, and how full is /var/lib/postgresql?"}]
SEEDS = range(20)
# An agent conversation: one earlier call and its result. Primed like this, even the 135M base model
# chooses to call in `auto` mode; asked cold, it almost always answers in text (first-token "{" has p < 1%).
AGENT_HISTORY = [
    {"role": "system", "content": "You are an ops assistant with tools."},
    {"role": "user", "content": "How full is /home?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_a1", "type": "function", "function": {
        "name": "disk_usage", "arguments": '{"path": "/home"}'}}]},
    {"role": "tool", "tool_call_id": "call_a1", "content": '{"used_percent": 40}'},
    {"role": "assistant", "content": "/home is 40% full."},
    {"role": "user", "content": "How full is /var?"},
]


def _check_calls(message) -> list:
    assert message.tool_calls, message
    for call in message.tool_calls:
        assert call.id.startswith("call_") and call.type == "function"
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])
    return message.tool_calls


async def _many(aclient, **kw):
    return await asyncio.gather(*(aclient.chat.completions.create(model=MODEL, messages=ASK, temperature=0.8,
                                                                  seed=s, max_tokens=1024, **kw) for s in SEEDS))


async def test_required_calls_validate_for_every_seed(aclient):
    for r in await _many(aclient, tools=TOOLS, tool_choice="required"):
        assert r.choices[0].finish_reason == "tool_calls" and r.choices[0].message.content is None
        _check_calls(r.choices[0].message)


async def test_named_tool_choice_calls_that_function_for_every_seed(aclient):
    named = {"type": "function", "function": {"name": "port_listening"}}
    for r in await _many(aclient, tools=TOOLS, tool_choice=named, parallel_tool_calls=False):
        calls = _check_calls(r.choices[0].message)
        assert [c.function.name for c in calls] == ["port_listening"]


async def test_json_schema_output_validates_for_every_seed(aclient):
    schema = {"type": "object", "properties": {
        "service": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
        "ports": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}, "maxItems": 3},
        "tier": {"enum": ["web", "db", "cache"]}}, "required": ["service", "replicas", "tier"],
        "additionalProperties": False}
    rf = {"type": "json_schema", "json_schema": {"name": "deployment", "schema": schema, "strict": True}}
    for r in await _many(aclient, response_format=rf):
        jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_json_object_mode_streams_a_json_object(client):
    """Every streamed answer that ends by itself is one JSON object. One that max_tokens cuts off is not
    (OpenAI documents the same): a sampled 135M model sometimes writes members until the limit."""
    finished = []
    for seed in range(6):
        chunks = client.chat.completions.create(model=MODEL, messages=ASK, response_format={"type": "json_object"},
                                                temperature=0.8, seed=seed, max_tokens=400, stream=True)
        text, finish = "", None
        for c in chunks:
            if c.choices:
                text += c.choices[0].delta.content or ""
                finish = c.choices[0].finish_reason or finish
        if finish == "stop":
            assert isinstance(json.loads(text), dict)
            finished.append(text)
        else:
            assert finish == "length"
    assert len(finished) >= 2


def _reassemble(stream):
    calls, finish, content = {}, None, ""
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for tc in delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
            if tc.id:
                assert entry["id"] is None, "id and name come once, in the call's first delta"
                entry["id"], entry["name"] = tc.id, tc.function.name
                assert tc.type == "function"
            entry["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    return calls, finish, content


@pytest.mark.parametrize("choice, messages", [("required", ASK), ("auto", AGENT_HISTORY)])
def test_streamed_calls_reassemble_into_valid_json(client, choice, messages):
    seen_calls = 0
    for seed in range(6):
        stream = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS, tool_choice=choice,
                                                temperature=0.8, seed=seed, max_tokens=1024, stream=True)
        calls, finish, content = _reassemble(stream)
        if calls:
            assert finish == "tool_calls" and content == ""
            for entry in calls.values():
                assert entry["id"].startswith("call_")
                jsonschema.validate(json.loads(entry["arguments"]), SCHEMAS[entry["name"]])
            seen_calls += 1
        else:
            assert choice == "auto" and content and finish in ("stop", "length")
    assert seen_calls >= (6 if choice == "required" else 3), f"{choice}: only {seen_calls} of 6 seeds called"


def test_auto_can_answer_in_plain_text(client):
    answers = [client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Say hello to the on-call team."}], tools=TOOLS,
        temperature=0.8, seed=s, max_tokens=30).choices[0] for s in range(6)]
    assert any(a.finish_reason != "tool_calls" and a.message.content for a in answers)


RESULTS = {"port_listening": {"listening": True, "pid": 812}, "disk_usage": {"used_percent": 91}}
AGENT_TURNS = 4


def _answer_calls(history: list, message) -> None:
    """Append the assistant's (valid) calls and a result for each, as a client runs them."""
    calls = _check_calls(message)
    history.append(message.model_dump(exclude_none=True))
    for call in calls:
        history.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(RESULTS[call.function.name])})


def test_round_trip_call_result_answer(client):
    """An agent loop: call -> tool results -> the model decides (auto) -> ... -> a text answer.

    Every call the model makes is valid and its result goes back into the conversation with the assistant's
    call message. When the agent reaches its step limit (AGENT_TURNS automatic turns: a 135M model may keep
    calling forever), or when max_tokens cuts a call off (finish_reason "length", its arguments incomplete),
    the loop asks for the answer with tool_choice "none", as agent frameworks do."""
    first = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required",
                                           temperature=0.8, seed=2, max_tokens=1024)
    history, message = list(ASK), first.choices[0].message
    for turn in range(AGENT_TURNS):
        _answer_calls(history, message)
        r = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, tool_choice="auto",
                                           temperature=0.8, seed=turn, max_tokens=300)
        message = r.choices[0].message
        if r.choices[0].finish_reason != "tool_calls":
            break
    else:
        _answer_calls(history, message)
    if r.choices[0].finish_reason == "tool_calls" or message.tool_calls:
        if message.tool_calls and r.choices[0].finish_reason != "tool_calls":
            assert r.choices[0].finish_reason == "length", r  # a call is only ever cut off by max_tokens
        r = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, tool_choice="none",
                                           temperature=0.8, seed=AGENT_TURNS, max_tokens=80)
        message = r.choices[0].message
    assert not message.tool_calls and message.content, message
    assert r.choices[0].finish_reason in ("stop", "length")


def test_sdk_structured_output_helper(client):
    class Incident(BaseModel):
        service: str
        severity: int
        customer_facing: bool

    r = client.chat.completions.parse(model=MODEL, temperature=0.8, seed=5, max_tokens=1024, response_format=Incident,
                                      messages=[{"role": "user", "content": "Summarise: checkout API is down."}])
    assert isinstance(r.choices[0].message.parsed, Incident)


@pytest.mark.parametrize("kwargs, param", [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "nonsense"}}}]},
     "tools[0].function.parameters"),
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "rm_rf"}}}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 5}}}},
     "response_format.json_schema.schema"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "properties": {"e": {"type": "string", "format": "email"}}}}}},
     "response_format.json_schema.schema"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_nope", "content": "1"}]},
     "messages[1].tool_call_id"),
])
def test_bad_tool_requests_are_400_naming_the_problem(client, kwargs, param):
    kwargs = {"messages": ASK, **kwargs}
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, max_tokens=5, **kwargs)
    assert err.value.body["param"] == param, err.value.body


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_json_max_string_caps_strings_without_max_length(tight_client):
    """tight_server runs with --json-max-string 12: no unbounded string in tool arguments or a json_schema
    answer is longer, whatever the seed, while a schema's own minLength/maxLength still rule their string."""
    schema = {"type": "object", "properties": {"name": {"type": "string"},
                                               "summary": {"type": "string", "minLength": 20, "maxLength": 40}},
              "required": ["name", "summary"], "additionalProperties": False}
    rf = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    for seed in range(2):
        r = tight_client.chat.completions.create(model=MODEL, messages=ASK, temperature=0.8, seed=seed,
                                                 max_tokens=200, response_format=rf)
        answer = json.loads(r.choices[0].message.content)
        assert len(answer["name"]) <= 12 and 20 <= len(answer["summary"]) <= 40, answer
        r = tight_client.chat.completions.create(model=MODEL, messages=ASK, temperature=0.8, seed=seed,
                                                 max_tokens=200, tools=TOOLS, tool_choice="required")
        for call in _check_calls(r.choices[0].message):
            assert all(len(s) <= 12 for s in _strings(json.loads(call.function.arguments))), call

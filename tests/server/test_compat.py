"""Wire compatibility with what real OpenAI clients send and expect, on the real server and bundled model.

Field by field against OpenAI's API: the nulls it always writes, chunk order, what clients send that we
must accept (explicit nulls, legacy `functions`, extensions we ignore), and what we must refuse clearly.
The official openai client drives every request it can send; raw httpx only where it cannot.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

MODEL = "aletheia-base"
HI = [{"role": "user", "content": "Say hi to the on-call engineer."}]
PORT_FN = {"name": "port_open", "description": "Whether a TCP port is open",
           "parameters": {"type": "object", "properties": {"port": {"type": "integer", "minimum": 1,
                                                                     "maximum": 65535}},
                          "required": ["port"], "additionalProperties": False}}
PORT_TOOL = {"type": "function", "function": PORT_FN}


def _sse(lines) -> list:
    """The data payloads of an SSE body: parsed JSON objects, and the final "[DONE]" as a string."""
    out = []
    for line in lines:
        if line.startswith("data: "):
            data = line[len("data: "):]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def _streamed(client, **kw) -> list:
    with client.chat.completions.with_streaming_response.create(model=MODEL, stream=True, **kw) as resp:
        return _sse(resp.iter_lines())


# --------------------------------------------------------------------------------------------------
# What we send
# --------------------------------------------------------------------------------------------------


def test_completion_writes_the_fields_openai_always_writes(client):
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=HI, max_tokens=3, temperature=0)
    body = raw.http_response.json()
    choice = body["choices"][0]
    assert set(choice) == {"index", "message", "logprobs", "finish_reason"} and choice["logprobs"] is None
    assert choice["message"] == {"role": "assistant", "content": choice["message"]["content"], "refusal": None}
    assert body["system_fingerprint"].startswith("fp_") and body["service_tier"] == "default"
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    assert "cached_tokens" in body["usage"]["prompt_tokens_details"]
    again = client.chat.completions.create(model=MODEL, messages=HI, max_tokens=1)
    assert again.system_fingerprint == body["system_fingerprint"], "same model and engine, same fingerprint"


def test_every_response_has_a_request_id(client, llm_server):
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=HI, max_tokens=1)
    assert raw.headers["x-request-id"].startswith("req_")
    mine = client.models.with_raw_response.list(extra_headers={"X-Request-Id": "trace-42"})
    assert mine.headers["x-request-id"] == "trace-42", "a client's own id is echoed for tracing"
    odd = httpx.get(f"{llm_server.base_url}/models", headers={"x-request-id": "a b\tc"})
    assert odd.headers["x-request-id"].startswith("req_")
    assert httpx.get(f"{llm_server.url}/v9").headers["x-request-id"].startswith("req_"), "errors too"


def test_stream_chunk_order_and_nulls(client):
    events = _streamed(client, messages=HI, max_tokens=4, temperature=0, stream_options={"include_usage": True})
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("usage" in c for c in chunks), "with include_usage every chunk carries usage (null until the last)"
    assert all(c["usage"] is None for c in chunks[:-1])
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 4
    finishing = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finishing == [chunks[-2]] and finishing[0]["choices"][0]["delta"] == {}
    for c in chunks[:-1]:
        assert c["object"] == "chat.completion.chunk" and c["system_fingerprint"].startswith("fp_")
        for choice in c["choices"]:
            assert set(choice) == {"index", "delta", "logprobs", "finish_reason"}
    plain = _streamed(client, messages=HI, max_tokens=2, temperature=0)
    assert all("usage" not in c for c in plain[:-1]), "without include_usage no chunk carries usage"


def test_n_streams_a_role_chunk_and_a_finish_per_choice(client):
    chunks = _streamed(client, messages=HI, max_tokens=3, temperature=0.8, seed=4, n=3)[:-1]
    roles = [c["choices"][0]["index"] for c in chunks if c["choices"][0]["delta"].get("role")]
    finishes = [c["choices"][0]["index"] for c in chunks if c["choices"][0]["finish_reason"]]
    assert sorted(roles) == [0, 1, 2] and sorted(finishes) == [0, 1, 2]
    for i in range(3):
        mine = [c for c in chunks if c["choices"][0]["index"] == i]
        assert mine[0]["choices"][0]["delta"].get("role") == "assistant", "role comes first in each choice"
        assert mine[-1]["choices"][0]["finish_reason"], "finish comes last in each choice"


def test_legacy_completion_fields(client):
    raw = client.completions.with_raw_response.create(model=MODEL, prompt="Kubernetes is", max_tokens=2)
    body = raw.http_response.json()
    assert body["choices"][0]["logprobs"] is None and body["system_fingerprint"].startswith("fp_")
    with client.completions.with_streaming_response.create(model=MODEL, prompt="Kubernetes is", max_tokens=2,
                                                           stream=True,
                                                           stream_options={"include_usage": True}) as resp:
        chunks = _sse(resp.iter_lines())[:-1]
    assert all(c["usage"] is None for c in chunks[:-1]) and chunks[-1]["usage"]["completion_tokens"] == 2
    assert all(set(ch) == {"index", "text", "logprobs", "finish_reason"} for c in chunks[:-1] for ch in c["choices"])


# --------------------------------------------------------------------------------------------------
# What clients send that we accept
# --------------------------------------------------------------------------------------------------


def test_explicit_nulls_mean_the_defaults(client):
    """The SDK sends an argument given as None as JSON null; so do clients that serialise every option."""
    kw = {"model": MODEL, "messages": HI, "max_completion_tokens": 5, "temperature": 0}
    nulls = client.chat.completions.create(n=None, stream=None, stop=None, presence_penalty=None,
                                           frequency_penalty=None, logprobs=None, top_logprobs=None,
                                           parallel_tool_calls=None, max_tokens=None, seed=None,
                                           stream_options=None, tools=None, tool_choice=None, logit_bias=None,
                                           response_format=None, **kw)
    plain = client.chat.completions.create(**kw)
    assert len(nulls.choices) == 1 and nulls.choices[0].message.content == plain.choices[0].message.content
    legacy = client.completions.create(model=MODEL, prompt="DNS is", max_tokens=None, n=None, echo=None,
                                       temperature=0)
    default = client.completions.create(model=MODEL, prompt="DNS is", temperature=0)
    assert legacy.choices[0].text == default.choices[0].text, "max_tokens null on completions is the default, 16"
    assert legacy.usage.completion_tokens <= 16


@pytest.mark.parametrize("kwargs", [
    {"temperature": 1, "top_p": 1},
    {"stop": []},
    {"stop": ""},
    {"logit_bias": {}},
    {"tool_choice": "auto"},
    {"tools": [], "tool_choice": "auto"},
    {"parallel_tool_calls": False},
    {"tool_choice": "none"},
    {"response_format": {"type": "text"}},
    {"stream_options": {"include_usage": False}},
    {"seed": 3, "user": "u-1", "metadata": {"team": "sre"}, "store": False},
    {"reasoning_effort": "low", "service_tier": "auto"},
    {"prediction": {"type": "content", "content": "Hi"}},
    {"modalities": ["text"]},
    {"extra_body": {"top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1, "echo": False}},
    {"max_tokens": 8},  # with max_completion_tokens below, which wins
])
def test_fields_clients_send_are_accepted(client, kwargs):
    r = client.chat.completions.create(**{"model": MODEL, "messages": HI, "max_completion_tokens": 2, "temperature": 0,
                                          **kwargs})
    assert r.choices[0].finish_reason in ("stop", "length") and r.usage.completion_tokens <= 2


def test_messages_as_agents_and_frameworks_write_them(client):
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You are terse."}], "name": "policy"},
        {"role": "user", "content": "Is port 22 open?", "name": "alice"},
        {"role": "assistant", "content": None},  # an empty earlier turn
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "I cannot check that."}],
         "refusal": "I cannot check that."},
        {"role": "user", "content": [{"type": "text", "text": "Then say hi."}]},
    ]
    assert client.chat.completions.create(model=MODEL, messages=messages, max_tokens=2).choices[0].message.content


def test_a_returned_message_can_be_sent_back_as_is(client):
    """Agents append the SDK's message object (refusal, tool_calls and function_call None included)."""
    first = client.chat.completions.create(model=MODEL, messages=HI, max_tokens=3, temperature=0)
    history = [*HI, first.choices[0].message, {"role": "user", "content": "Again."}]
    assert client.chat.completions.create(model=MODEL, messages=history, max_tokens=2).choices[0].message.content


def test_content_type_is_not_required(llm_server):
    body = json.dumps({"model": MODEL, "messages": HI, "max_tokens": 1})
    for headers in ({}, {"content-type": "application/json; charset=utf-8"}, {"content-type": "text/plain"}):
        r = httpx.post(f"{llm_server.base_url}/chat/completions", content=body, headers=headers, timeout=60)
        assert r.status_code == 200, (headers, r.text)


# --------------------------------------------------------------------------------------------------
# What we refuse: a 400 naming the field, never a silent ignore of something that changes the answer
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, param", [
    ({"logit_bias": {"hello": -100}}, "logit_bias"),
    ({"logit_bias": {"10000000": -100}}, "logit_bias"),
    ({"logit_bias": {"1000": -101}}, "logit_bias"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
    ({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}, "messages[0].content[1].type"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {
        "data": "", "format": "wav"}}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "hologram"}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
    ({"messages": [{"role": "user", "content": None}]}, "messages[0].content"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [PORT_TOOL], "functions": [PORT_FN]}, "functions"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "function", "name": "f", "content": "1"}]},
     "messages[1]"),
])
def test_what_we_cannot_honour_is_a_400_naming_the_field(client, kwargs, param):
    kwargs = {"messages": HI, **kwargs}
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, max_tokens=2, **kwargs)
    assert err.value.body["param"] == param, err.value.body
    assert err.value.body["type"] == "invalid_request_error"
    assert "more problems" not in err.value.body["message"], "one clear problem, not a union's every member"


def test_best_of_beyond_n_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model=MODEL, prompt="x", max_tokens=2, best_of=3)
    assert err.value.body["param"] == "best_of"
    assert client.completions.create(model=MODEL, prompt="x", max_tokens=1, best_of=1).choices


@pytest.mark.parametrize("method, path, status, code", [
    ("POST", "/v1/chat/complete", 404, "unknown_url"),
    ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
    ("DELETE", "/v1/models", 405, "method_not_allowed"),
    ("POST", "/chat/completions", 404, "unknown_url"),
])
def test_framework_errors_are_openai_shaped(llm_server, method, path, status, code):
    r = httpx.request(method, f"{llm_server.url}{path}", json={"model": MODEL, "messages": HI}, timeout=30)
    assert r.status_code == status and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["type"] == "invalid_request_error" and method in body["error"]["message"]


def test_unknown_model_is_openai_shaped(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=HI)
    assert err.value.body["type"] == "invalid_request_error" and err.value.body["param"] == "model"


# --------------------------------------------------------------------------------------------------
# Calls: the legacy functions API, and calls cut short
# --------------------------------------------------------------------------------------------------


def test_legacy_functions_api(client):
    """`functions` + `function_call` (still sent by older LangChain chains and agents) answer with
    `function_call` and finish_reason "function_call", streamed or not, and the history replays."""
    kw = {"model": MODEL, "messages": [{"role": "user", "content": "Is port 5432 open?"}], "functions": [PORT_FN],
          "function_call": {"name": "port_open"}, "max_tokens": 60, "temperature": 0.7, "seed": 1}
    r = client.chat.completions.create(**kw)
    message = r.choices[0].message
    assert r.choices[0].finish_reason == "function_call" and message.tool_calls is None and message.content is None
    assert message.function_call.name == "port_open"
    assert 1 <= json.loads(message.function_call.arguments)["port"] <= 65535

    name, arguments, finish = None, "", None
    for chunk in client.chat.completions.create(stream=True, **kw):
        delta = chunk.choices[0].delta
        assert delta.tool_calls is None
        if delta.function_call:
            name = name or delta.function_call.name
            arguments += delta.function_call.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, finish) == ("port_open", "function_call")
    assert json.loads(arguments) == json.loads(message.function_call.arguments), "same seed, same call"

    history = [*kw["messages"], {"role": "assistant", "content": None, "function_call": {
        "name": "port_open", "arguments": message.function_call.arguments}},
        {"role": "function", "name": "port_open", "content": '{"open": true}'}]
    after = client.chat.completions.create(model=MODEL, messages=history, functions=[PORT_FN], function_call="none",
                                           max_tokens=5)
    assert after.choices[0].message.content and after.choices[0].message.function_call is None


def test_streamed_call_opens_with_role_and_no_content(client):
    chunks = _streamed(client, messages=HI, tools=[PORT_TOOL], tool_choice="required", max_tokens=60, seed=2)[:-1]
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant" and "content" not in first
    call = first["tool_calls"][0]
    assert set(call) == {"index", "id", "type", "function"} and call["function"]["arguments"] == ""
    deltas = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    for index in {tc["index"] for tc in deltas}:
        mine = [tc for tc in deltas if tc["index"] == index]
        assert "id" in mine[0] and mine[0]["type"] == "function" and mine[0]["function"]["name"] == "port_open"
        assert len(mine) > 1 and all(set(tc) == {"index", "function"} and set(tc["function"]) == {"arguments"}
                                     for tc in mine[1:]), "id, type and name only in a call's first delta"
    with client.chat.completions.stream(model=MODEL, messages=HI, tools=[PORT_TOOL], tool_choice="required",
                                        max_tokens=60, seed=2) as stream:
        final = stream.get_final_completion().choices[0]
    assert final.message.content is None and final.finish_reason == "tool_calls"


def test_a_call_cut_short_by_max_tokens_is_returned_as_a_call(client):
    """Not our internal call syntax as text: the calls so far, as a stream would have given them."""
    full = client.chat.completions.create(model=MODEL, messages=HI, tools=[PORT_TOOL], tool_choice="required",
                                          max_tokens=60, seed=2)
    cut = client.chat.completions.create(model=MODEL, messages=HI, tools=[PORT_TOOL], tool_choice="required",
                                         max_tokens=full.usage.completion_tokens - 2, seed=2)
    choice = cut.choices[0]
    assert choice.finish_reason == "length" and choice.message.content is None
    assert choice.message.tool_calls[0].function.name == "port_open"
    assert full.choices[0].message.tool_calls[0].function.arguments.replace(" ", "").startswith(
        choice.message.tool_calls[0].function.arguments.replace(" ", ""))
    nothing = client.chat.completions.create(model=MODEL, messages=HI, tools=[PORT_TOOL], tool_choice="required",
                                             max_tokens=2, seed=2).choices[0]
    assert nothing.message.content is None and nothing.message.tool_calls is None

"""The Responses API on the real server, driven by the official openai client."""

from __future__ import annotations

import openai
import pytest

MODEL = "aletheia-base"


@pytest.fixture(scope="module")
def client(llm_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="unused", max_retries=0, timeout=600)


def test_text_response_and_previous_response_id(client):
    first = client.responses.create(model=MODEL, input="Name one Linux signal.", instructions="Be brief.",
                                    max_output_tokens=12, temperature=0)
    assert first.object == "response" and first.status in ("completed", "incomplete")
    assert first.output[0].type == "message" and first.output_text
    assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0
    second = client.responses.create(model=MODEL, input="And another one?", previous_response_id=first.id,
                                     max_output_tokens=4, temperature=0)
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens  # the first turn and its answer are in the prompt
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model=MODEL, input="x", previous_response_id="resp_missing", max_output_tokens=1)
    assert err.value.body["param"] == "previous_response_id"


WEATHER = {"type": "function", "name": "disk_usage", "description": "Disk usage of a mount point",
           "parameters": {"type": "object", "properties": {"mount": {"type": "string", "maxLength": 20}},
                          "required": ["mount"], "additionalProperties": False}}


def test_function_tool_call_and_its_output(client):
    called = client.responses.create(model=MODEL, input="How full is /var?", tools=[WEATHER],
                                     tool_choice={"type": "function", "name": "disk_usage"}, temperature=0,
                                     max_output_tokens=40)
    call = called.output[0]
    assert call.type == "function_call" and call.name == "disk_usage" and "mount" in call.arguments
    answered = client.responses.create(
        model=MODEL, previous_response_id=called.id, max_output_tokens=12, temperature=0, tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"used": "91%"}'}])
    assert answered.output[-1].type == "message"


def test_stream_events(client):
    events = list(client.responses.create(model=MODEL, input="Say hello.", max_output_tokens=8, temperature=0,
                                          stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in kinds and kinds[-1] in ("response.completed", "response.incomplete")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[-1].response.output[0].content[0].text == text
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_file_search_tool(client):
    text = b"# DNS\n\n## Cache\n\nFlush the resolver cache with `resolvectl flush-caches`.\n"
    uploaded = client.files.create(file=("dns.md", text), purpose="assistants")
    store = client.vector_stores.create(name="dns", file_ids=[uploaded.id])
    r = client.responses.create(model=MODEL, input="How do I flush the DNS cache?", max_output_tokens=24,
                                temperature=0, tools=[{"type": "file_search", "vector_store_ids": [store.id]}])
    assert r.output[0].type == "file_search_call" and r.output[0].queries == ["How do I flush the DNS cache?"]
    assert r.output[-1].type == "message"
    assert r.usage.input_tokens > 60  # the passage is in the prompt
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model=MODEL, input="x", tools=[{"type": "web_search"}], max_output_tokens=1)
    assert err.value.body["param"] == "tools[0].type"

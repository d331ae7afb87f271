"""Hostile and careless requests against the live server: each gets a clear OpenAI-shaped 4xx quickly, never a
500, a reset connection or a hang, and the server answers normally afterwards. Hand-made cases for each class
found, then hypothesis-generated bodies (bounded examples)."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MODEL = "aletheia-base"
HEADERS = {"content-type": "application/json"}


def chat_body(**extra) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, **extra}


def post(llm_server, path: str, content: bytes | str, timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{llm_server.base_url}{path}", content=content, headers=HEADERS, timeout=timeout)


def assert_openai_error(response: httpx.Response, status: int = 400, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["type"] == ("invalid_request_error" if status < 500 else "server_error")
    if code:
        assert error["code"] == code, error
    return error


def assert_still_serving(llm_server) -> None:
    r = post(llm_server, "/chat/completions", json.dumps(chat_body(max_tokens=1)))
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] in ("length", "stop")


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_json_is_a_400(llm_server, depth):
    body = json.dumps(chat_body())[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    message = assert_openai_error(post(llm_server, "/chat/completions", body), code="invalid_json")["message"]
    assert "nested too deeply" in message or "recursion limit" in message


@pytest.mark.parametrize("field, literal", [("temperature", "NaN"), ("top_p", "Infinity"),
                                            ("presence_penalty", "-Infinity"), ("unknown_extension", "NaN")])
def test_nan_and_infinity_are_a_400_not_a_reset_connection(llm_server, field, literal):
    body = json.dumps(chat_body())[:-1] + f', "{field}": {literal}}}'
    assert "NaN and Infinity" in assert_openai_error(post(llm_server, "/chat/completions", body),
                                                     code="invalid_json")["message"]
    # a string that merely spells them is fine
    assert post(llm_server, "/chat/completions", json.dumps(chat_body(user="NaN Infinity"))).status_code == 200


@pytest.mark.parametrize("raw", [b'{"model": "aletheia-base", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
                                 b"\xef\xbb\xbf{}", b'{"model": "a\x00"'])
def test_invalid_utf8_and_broken_bytes_are_a_400(llm_server, raw):
    assert_openai_error(post(llm_server, "/chat/completions", raw), code="invalid_json")


@pytest.mark.parametrize("extra", ['"seed": ' + "9" * 5000, '"max_tokens": 1e999', '"temperature": 1e999',
                                   '"n": 99999999999999999999999'])
def test_huge_numbers_are_a_400(llm_server, extra):
    body = json.dumps(chat_body())[:-1] + ", " + extra + "}"
    assert_openai_error(post(llm_server, "/chat/completions", body))


def test_one_request_cannot_fill_the_wait_queue_with_prompts(llm_server):
    r = post(llm_server, "/completions", json.dumps({"model": MODEL, "prompt": ["hi"] * 10_000, "max_tokens": 1}))
    error = assert_openai_error(r, code="invalid_value")
    assert error["param"] == "prompt" and "at most 32" in error["message"]
    assert_still_serving(llm_server)


def test_embedding_inputs_per_request_are_limited(llm_server):
    r = post(llm_server, "/embeddings", json.dumps({"model": MODEL, "input": ["hi"] * 5000}))
    error = assert_openai_error(r, code="invalid_value")
    assert error["param"] == "input" and "at most 2048" in error["message"]


def test_thousands_of_stop_strings_or_messages_are_a_400(llm_server):
    assert_openai_error(post(llm_server, "/chat/completions", json.dumps(chat_body(stop=["x"] * 5000))))
    many = {"model": MODEL, "messages": [{"role": "user", "content": "hi there"}] * 5000, "max_tokens": 1}
    assert_openai_error(post(llm_server, "/chat/completions", json.dumps(many)), code="context_length_exceeded")


def test_a_ten_megabyte_prompt_is_refused_without_stalling_other_requests(llm_server):
    huge = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "word " * 2_000_000}], "max_tokens": 1})
    assert len(huge) > 10_000_000
    assert_openai_error(post(llm_server, "/chat/completions", huge, timeout=120), code="context_length_exceeded")


@pytest.mark.parametrize("schema", [{"type": "string", "maxLength": 100_000_000},
                                    {"type": "array", "items": {"type": "integer"}, "minItems": 1_000_000},
                                    {"type": "string", "minLength": 5000}])
def test_grammars_that_would_explode_are_refused(llm_server, schema):
    """A maxLength of 10^8 used to crash the whole server (stack overflow in llama.cpp's grammar parser)."""
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    error = assert_openai_error(post(llm_server, "/chat/completions", json.dumps(chat_body(response_format=rf))))
    assert "above the 2000" in error["message"]
    assert_still_serving(llm_server)


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=12)
FIELDS = ["model", "messages", "max_tokens", "temperature", "top_p", "n", "stop", "seed", "stream", "logprobs",
          "top_logprobs", "tools", "tool_choice", "response_format", "logit_bias", "prompt", "echo", "input",
          "stream_options", "presence_penalty", "max_completion_tokens", "functions", "function_call"]


@st.composite
def hostile_bodies(draw) -> dict:
    body = {"model": MODEL, "max_tokens": 1}
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        body[field] = draw(JSON_VALUE)
    if draw(st.booleans()):
        body["messages"] = draw(st.lists(st.fixed_dictionaries({"role": st.sampled_from(
            ["user", "system", "assistant", "tool", "robot"]), "content": JSON_VALUE}), max_size=3))
    return body


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=hostile_bodies(), path=st.sampled_from(["/chat/completions", "/completions", "/embeddings"]))
def test_generated_bodies_get_an_answer_or_a_clear_4xx(llm_server, body, path):
    r = post(llm_server, path, json.dumps(body))
    if r.status_code == 200:
        if body.get("stream") is True:
            assert r.text.rstrip().endswith("data: [DONE]")
        return
    assert r.status_code < 500, r.text
    assert_openai_error(r, status=r.status_code)

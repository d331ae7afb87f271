"""Every error the server promises: OpenAI's JSON shape, the right status, never a traceback."""

from __future__ import annotations

import httpx
import openai
import pytest

MODEL = "aletheia-base"
MSG = [{"role": "user", "content": "hi"}]


def _post(url, body, **kw):
    return httpx.post(url, content=body if isinstance(body, (bytes, str)) else None,
                      json=None if isinstance(body, (bytes, str)) else body,
                      headers={"content-type": "application/json", **kw.pop("headers", {})}, timeout=60, **kw)


def _assert_error(r: httpx.Response, status: int, param: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"] and "Traceback" not in err["message"] and 'File "' not in err["message"]
    if param is not None:
        assert err["param"] == param, err
    return err


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"a string"'])
def test_malformed_json_is_400(llm_server, body):
    _assert_error(_post(f"{llm_server.base_url}/chat/completions", body), 400)


@pytest.mark.parametrize(
    "patch, param",
    [
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 3.5}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"n": 0}, "n"),
        ({"stream": "yes"}, "stream"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 42}]}, "messages[0].content"),
        ({"presence_penalty": 9}, "presence_penalty"),
        ({"top_logprobs": 50, "logprobs": True}, "top_logprobs"),
        ({"stop": 5}, "stop"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(llm_server, patch, param):
    body = {"model": MODEL, "messages": MSG, **patch}
    _assert_error(_post(f"{llm_server.base_url}/chat/completions", body), 400, param)


def test_missing_model_field(llm_server):
    _assert_error(_post(f"{llm_server.base_url}/chat/completions", {"messages": MSG}), 400, "model")


def test_unknown_model_404_everywhere(llm_server):
    for path, body in [("chat/completions", {"model": "nope", "messages": MSG}),
                       ("completions", {"model": "nope", "prompt": "x"}),
                       ("embeddings", {"model": "nope", "input": "x"})]:
        err = _assert_error(_post(f"{llm_server.base_url}/{path}", body), 404, "model")
        assert "nope" in err["message"]
    _assert_error(httpx.get(f"{llm_server.base_url}/models/nope"), 404)


def test_prompt_longer_than_context_is_400_with_counts(client):
    long = "word " * 5000
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": long}], max_tokens=5)
    message = err.value.body["message"]
    assert err.value.body["code"] == "context_length_exceeded"
    assert "4096" in message and "tokens" in message
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=MODEL, prompt=long, max_tokens=5)


def test_max_tokens_beyond_context_is_400(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=MSG, max_tokens=10_000)
    assert "maximum context length" in err.value.body["message"]


def test_n_above_slots_is_400(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=MSG, n=12, max_tokens=2)
    assert err.value.body["param"] == "n"


def test_oversized_body_is_413(tight_server):
    big = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 200_000}]}
    r = _post(f"{tight_server.base_url}/chat/completions", big, headers={"authorization": "Bearer test-key-123"})
    _assert_error(r, 413)


def test_api_key_required_when_configured(tight_server):
    r = _post(f"{tight_server.base_url}/chat/completions", {"model": MODEL, "messages": MSG})
    assert _assert_error(r, 401)["code"] == "invalid_api_key"
    bad = openai.OpenAI(base_url=tight_server.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    assert httpx.get(f"{tight_server.url}/health").status_code == 200, "health stays open for probes"


def test_unknown_route_is_openai_shaped_404(llm_server):
    _assert_error(httpx.get(f"{llm_server.url}/v2/everything"), 404)

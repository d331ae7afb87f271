"""Limits and budgets on the real server: 429s with Retry-After and x-ratelimit-* headers, token limits on
the model's own counts, concurrent requests against a nearly spent budget (overspend bound: zero)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import openai
import pytest

from server.gateway.limits import period_bounds

from .conftest import aclient_for, client_for, ledger_rows

QUESTION = [{"role": "user", "content": "Name one Linux command for disk usage."}]


def _raw(client: openai.OpenAI, **kw):
    return client.chat.completions.with_raw_response.create(model="ops-v1", messages=QUESTION, **kw)


def test_requests_per_minute(gateway_server, new_key):
    secret, _ = new_key("rpm-user", rpm=2)
    client = client_for(gateway_server, secret)
    first = _raw(client, max_tokens=1)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    _raw(client, max_tokens=1)
    with pytest.raises(openai.RateLimitError) as err:
        _raw(client, max_tokens=1)
    r = err.value.response
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert r.headers["x-ratelimit-reset-requests"].endswith("s")
    assert err.value.body["code"] == "rate_limit_exceeded" and "2 per minute" in err.value.body["message"]


def test_tokens_per_minute_count_the_models_real_tokens(gateway_server, new_key):
    """Admission follows the real token counts the responses report, not max_tokens (which would cut in
    early) nor a character estimate: a request runs iff the tokens used so far plus its prompt fit. (The
    minute drains continuously, tpm/60 tokens a second: the three requests take far less than the ~30 s it
    takes to drain the one prompt's worth of tokens that keeps the third out.)"""
    probe = _raw(client_for(gateway_server, "admin-secret-456"), max_tokens=3, temperature=0).parse().usage
    tpm = 2 * probe.total_tokens + 1
    secret, _ = new_key("tpm-user", tpm=tpm)
    client = client_for(gateway_server, secret)
    used, outcomes = 0, []
    for _ in range(3):
        try:
            resp = _raw(client, max_tokens=3, temperature=0)
            usage = resp.parse().usage
            assert used + usage.prompt_tokens <= tpm
            used += usage.total_tokens
            outcomes.append("ok")
            assert resp.headers["x-ratelimit-limit-tokens"] == str(tpm)
        except openai.RateLimitError as err:
            assert used + probe.prompt_tokens > tpm
            remaining = int(err.response.headers["x-ratelimit-remaining-tokens"])
            assert max(0, tpm - used) <= remaining < probe.prompt_tokens
            assert int(err.response.headers["retry-after"]) >= 1
            outcomes.append("429")
    assert outcomes == ["ok", "ok", "429"]


def test_max_concurrent_requests(gateway_server, new_key):
    secret, _ = new_key("concurrency-user", max_concurrent=1)
    client = client_for(gateway_server, secret)
    stream = client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=40, stream=True)
    next(iter(stream))  # the first request is running
    with pytest.raises(openai.RateLimitError) as err:
        _raw(client, max_tokens=1)
    assert "concurrent" in err.value.body["message"]
    for _ in stream:
        pass
    assert _raw(client, max_tokens=1).parse().choices  # the slot was given back


async def test_fifty_concurrent_requests_cannot_overspend_a_budget(gateway_server, new_key):
    max_tokens = 8
    probe = _raw(client_for(gateway_server, "admin-secret-456"), max_tokens=1).parse().usage
    worst = probe.prompt_tokens + max_tokens
    budget = 3 * worst + worst // 2  # room for three worst cases at once
    secret, record = new_key("budget-user", budget=f"{budget}/day")
    client = aclient_for(gateway_server, secret)

    async def one():
        try:
            r = await client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=max_tokens)
            return r.usage.total_tokens
        except openai.RateLimitError as err:
            return err

    async with client:  # closed here: an unclosed client's finalizer can strand a later request (issue 14)
        results = await asyncio.gather(*(one() for _ in range(50)))
    spent = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(spent) >= 3 and refused
    assert sum(spent) <= budget  # the documented bound: zero overspend
    _, _, end = period_bounds("day", datetime.now(timezone.utc))
    for err in refused:
        assert err.body["code"] == "insufficient_quota"
        assert f"budget of {budget} per day" in err.body["message"]
        assert end.strftime("%Y-%m-%dT00:00:00Z") in err.body["message"]  # when it resets
        assert int(err.response.headers["retry-after"]) > 0
    rows = ledger_rows(gateway_server.database_url, "key_id = :k", k=record["id"])
    assert len(rows) == 50  # every request is in the ledger, refused ones included
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows) == sum(spent) <= budget
    assert sorted(r["status"] for r in rows) == sorted([200] * len(spent) + [429] * len(refused))


def test_a_budget_counts_what_is_already_in_the_ledger(gateway_server, new_key, admin_http):
    """The spend of the period so far is read from the ledger, so a budget survives a restart; and the
    period is part of the counter's name, so it resets by itself at the next day or month (UTC)."""
    secret, record = new_key("budget-ledger")
    client = client_for(gateway_server, secret)
    usages = [_raw(client, max_tokens=2).parse().usage for _ in range(2)]
    used = sum(u.total_tokens for u in usages)
    worst = usages[0].prompt_tokens + 2
    # a budget set now that leaves one token less than the next request's worst case: it is refused
    admin_http.patch(f"/v1/admin/keys/{record['id']}", json={"budget": f"{used + worst - 1}/day"})
    with pytest.raises(openai.RateLimitError) as err:
        _raw(client, max_tokens=2)
    assert f"({used} used or reserved" in err.value.body["message"]


def test_budget_periods_roll_over():
    day, start, end = period_bounds("day", datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc))
    assert (day, start.day, end) == ("2026-12-31", 31, datetime(2027, 1, 1, tzinfo=timezone.utc))
    month, start, end = period_bounds("month", datetime(2026, 12, 15, tzinfo=timezone.utc))
    assert (month, start, end) == ("2026-12", datetime(2026, 12, 1, tzinfo=timezone.utc),
                                   datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert period_bounds("month", datetime(2027, 1, 31, tzinfo=timezone.utc))[2] == datetime(2027, 2, 1,
                                                                                               tzinfo=timezone.utc)



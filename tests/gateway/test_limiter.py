"""The limiter's bookkeeping on in-memory counters (the same operations run as Lua scripts on Redis, tested
against a real Redis in test_replicas.py): what a refused request took is given back, and a budget period
starts from the ledger's spend."""

from __future__ import annotations

import pytest

from server.errors import APIError
from server.gateway.counters import MemoryCounters
from server.gateway.keys import ApiKey
from server.gateway.limits import Limiter


def _limiter(spent: int = 0) -> Limiter:
    async def spent_since(key_id: str, start: float) -> int:
        return spent

    return Limiter(MemoryCounters(), spent_since)


async def test_a_request_refused_for_concurrency_does_not_use_up_the_minute():
    limiter, key = _limiter(), ApiKey(id="k", prefix="sk", owner="o", rpm=3, max_concurrent=1)
    first = await limiter.enter(key)
    for _ in range(5):
        with pytest.raises(APIError, match="concurrent"):
            await limiter.enter(key)
    await limiter.leave(first)
    for _ in range(2):  # the minute still has its other two requests
        await limiter.leave(await limiter.enter(key))
    with pytest.raises(APIError, match="requests: limit 3"):
        await limiter.enter(key)


async def test_a_request_refused_by_its_budget_gives_back_its_tokens_per_minute():
    limiter = _limiter(spent=900)
    key = ApiKey(id="k", prefix="sk", owner="o", tpm=100, budget_tokens=1000, budget_period="day")
    held = await limiter.enter(key)
    with pytest.raises(APIError) as err:  # 900 already in the ledger today: 150 does not fit
        await limiter.reserve(held, 50, 150)
    assert err.value.code == "insufficient_quota" and "(900 used or reserved" in err.value.message
    await limiter.reserve(held, 50, 100)  # the refused prompt's 50 tokens were given back: 50 + 50 <= 100
    await limiter.settle(held, 60)  # the real count replaces the worst case
    with pytest.raises(APIError) as err:
        await limiter.reserve(await limiter.enter(key), 10, 41)
    assert "(960 used or reserved" in err.value.message


async def test_a_request_refused_per_minute_gives_back_its_budget_reservation():
    limiter = _limiter()
    key = ApiKey(id="k", prefix="sk", owner="o", tpm=100, budget_tokens=500, budget_period="month")
    held = await limiter.enter(key)
    await limiter.reserve(held, 90, 200)
    with pytest.raises(APIError, match="tokens: limit 100"):
        await limiter.reserve(await limiter.enter(key), 20, 300)  # 90 + 20 > 100
    await limiter.settle(held, 95)
    await limiter.reserve(await limiter.enter(key), 5, 405)  # 95 + 405 = 500: the refused 300 was given back

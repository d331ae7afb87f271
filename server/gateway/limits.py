"""A key's limits: requests/min, tokens/min, concurrent requests and a token budget per day or month.

* ``enter`` (before the body is read): concurrency, then requests/min;
* ``reserve`` (once the prompt is tokenized, before the engine starts): tokens/min admits the request when
  its prompt fits in what is left of the minute; the budget reserves the worst case, prompt + n x max new
  tokens, so concurrent requests can never spend more than the budget together;
* ``settle`` (when the request ends, however it ends): the real token count replaces the reservation;
* ``leave``: the concurrency slot is given back.

Budget overspend bound: zero. A request is admitted only when its worst case fits, and it can never use
more than its worst case, so the tokens recorded against a budget period never exceed the budget. Periods
are UTC calendar days or months; a period's counter is keyed by the period, so a budget resets by itself.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..errors import APIError
from .counters import Counters
from .keys import ApiKey

CONCURRENCY_TTL_S = 3600  # a replica killed mid-request frees its slots after this long (Redis)


def _duration(seconds: float) -> str:
    """OpenAI's reset format: '1s', '6m0s', '250ms'."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    s = math.ceil(seconds)
    return f"{s // 60}m{s % 60}s" if s >= 60 else f"{s}s"


def period_bounds(period: str, now: datetime) -> tuple[str, datetime, datetime]:
    """(period id, start, end) of the UTC day or month that holds ``now``."""
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start, start + timedelta(days=1)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), start, end


@dataclass
class Reservation:
    """What one request holds against its key's counters, given back or settled when it ends."""

    key: ApiKey
    slot: bool = False
    prompt_tokens: int = 0
    budget_key: str | None = None
    budget_reserved: int = 0
    headers: dict[str, str] = field(default_factory=dict)


SpentSince = Callable[[str, float], Awaitable[int]]  # (key id, unix start) -> tokens in the ledger since


class Limiter:
    """Each phase runs its counters' operations concurrently (one Redis round trip of latency, not one per
    limit) and gives back what it took when another limit of the same phase refuses the request."""

    def __init__(self, counters: Counters, spent_since: SpentSince) -> None:
        self.counters = counters
        self.spent_since = spent_since

    async def _none(self):
        return None

    async def enter(self, key: ApiKey) -> Reservation:
        held = Reservation(key)
        c = self.counters
        slot, got = await asyncio.gather(
            c.counter_take(f"conc:{key.id}", 1, key.max_concurrent, CONCURRENCY_TTL_S) if key.max_concurrent
            else self._none(),
            c.bucket_take(f"rpm:{key.id}", key.rpm, 1, 1) if key.rpm else self._none())
        held.slot = bool(slot and slot[0])
        if got is not None:
            held.headers.update({
                "x-ratelimit-limit-requests": str(key.rpm),
                "x-ratelimit-remaining-requests": str(max(0, math.floor(key.rpm - got.level))),
                "x-ratelimit-reset-requests": _duration(got.level * 60 / key.rpm),
            })
        if slot is not None and not slot[0]:
            if got is not None and got.ok:  # the request does not run: its request of the minute is given back
                await c.bucket_take(f"rpm:{key.id}", key.rpm, 0, -1)
            raise APIError(429, f"Too many concurrent requests for this key (limit {key.max_concurrent}); "
                           "retry when one of them finishes.", code="rate_limit_exceeded",
                           headers={**held.headers, "Retry-After": "1"})
        if got is not None and not got.ok:
            await self.leave(held)
            raise APIError(429, f"Rate limit reached for requests: limit {key.rpm} per minute. "
                           f"Please try again in {_duration(got.retry_after)}.", code="rate_limit_exceeded",
                           headers={**held.headers, "Retry-After": str(math.ceil(got.retry_after))})
        return held

    async def reserve(self, held: Reservation, prompt_tokens: int, worst_case: int) -> None:
        key = held.key
        c = self.counters
        if key.tpm and prompt_tokens > key.tpm:
            raise APIError(429, f"This request's prompt ({prompt_tokens} tokens) is larger than the key's "
                           f"limit of {key.tpm} tokens per minute.", code="rate_limit_exceeded")
        budget_key = None
        if key.budget_tokens:
            now = datetime.now(timezone.utc)
            period_id, start, end = period_bounds(key.budget_period or "day", now)
            budget_key = f"budget:{key.id}:{period_id}"
            ttl = int((end - now).total_seconds()) + 86400

            async def seed() -> int:
                return await self.spent_since(key.id, start.timestamp())

        got, budget = await asyncio.gather(
            c.bucket_take(f"tpm:{key.id}", key.tpm, prompt_tokens, prompt_tokens) if key.tpm else self._none(),
            c.counter_take(budget_key, worst_case, key.budget_tokens, ttl, seed) if budget_key else self._none())
        if got is not None:
            held.headers.update({
                "x-ratelimit-limit-tokens": str(key.tpm),
                "x-ratelimit-remaining-tokens": str(max(0, math.floor(key.tpm - got.level))),
                "x-ratelimit-reset-tokens": _duration(got.level * 60 / key.tpm),
            })
            if got.ok:
                held.prompt_tokens = prompt_tokens
        if budget is not None and budget[0]:
            held.budget_key, held.budget_reserved = budget_key, worst_case
        if got is not None and not got.ok:
            await self.settle(held, 0)  # gives back the budget reservation, if any
            raise APIError(429, f"Rate limit reached for tokens: limit {key.tpm} per minute, "
                           f"{math.floor(got.level)} used. Please try again in {_duration(got.retry_after)}.",
                           code="rate_limit_exceeded",
                           headers={**held.headers, "Retry-After": str(math.ceil(got.retry_after))})
        if budget is not None and not budget[0]:
            if held.prompt_tokens:  # the prompt never runs: its tokens of the minute are given back
                await c.bucket_take(f"tpm:{key.id}", key.tpm, 0, -held.prompt_tokens)
                held.prompt_tokens = 0
            resets = end.isoformat(timespec="seconds").replace("+00:00", "Z")
            raise APIError(
                429, f"This key's token budget of {key.budget_tokens} per {key.budget_period} is spent "
                f"({budget[1]} used or reserved; this request may need {worst_case}). It resets at {resets}.",
                code="insufficient_quota",
                headers={**held.headers, "Retry-After": str(math.ceil((end - now).total_seconds()))})

    async def settle(self, held: Reservation, total_tokens: int) -> None:
        """The request's real token count (prompt + completion) replaces its reservations."""
        ops = []
        if held.prompt_tokens and held.key.tpm and total_tokens != held.prompt_tokens:
            ops.append(self.counters.bucket_take(f"tpm:{held.key.id}", held.key.tpm, 0,
                                                 total_tokens - held.prompt_tokens))
        if held.budget_key:
            ops.append(self.counters.counter_add(held.budget_key, total_tokens - held.budget_reserved))
            held.budget_key = None
        if ops:
            await asyncio.gather(*ops)

    async def settle_and_leave(self, held: Reservation, total_tokens: int) -> None:
        await asyncio.gather(self.settle(held, total_tokens), self.leave(held))

    async def leave(self, held: Reservation) -> None:
        if held.slot:
            held.slot = False
            await self.counters.counter_add(f"conc:{held.key.id}", -1)

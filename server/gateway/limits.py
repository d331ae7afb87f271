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
    def __init__(self, counters: Counters, spent_since: SpentSince) -> None:
        self.counters = counters
        self.spent_since = spent_since

    async def enter(self, key: ApiKey) -> Reservation:
        held = Reservation(key)
        if key.max_concurrent:
            ok, _ = await self.counters.counter_take(f"conc:{key.id}", 1, key.max_concurrent, CONCURRENCY_TTL_S)
            if not ok:
                raise APIError(429, f"Too many concurrent requests for this key (limit {key.max_concurrent}); "
                               "retry when one of them finishes.", code="rate_limit_exceeded",
                               headers={"Retry-After": "1"})
            held.slot = True
        if key.rpm:
            got = await self.counters.bucket_take(f"rpm:{key.id}", key.rpm, 1, 1)
            held.headers.update({
                "x-ratelimit-limit-requests": str(key.rpm),
                "x-ratelimit-remaining-requests": str(max(0, math.floor(key.rpm - got.level))),
                "x-ratelimit-reset-requests": _duration(got.level * 60 / key.rpm),
            })
            if not got.ok:
                await self.leave(held)
                raise APIError(429, f"Rate limit reached for requests: limit {key.rpm} per minute. "
                               f"Please try again in {_duration(got.retry_after)}.", code="rate_limit_exceeded",
                               headers={**held.headers, "Retry-After": str(math.ceil(got.retry_after))})
        return held

    async def reserve(self, held: Reservation, prompt_tokens: int, worst_case: int) -> None:
        key = held.key
        if key.tpm:
            if prompt_tokens > key.tpm:
                raise APIError(429, f"This request's prompt ({prompt_tokens} tokens) is larger than the key's "
                               f"limit of {key.tpm} tokens per minute.", code="rate_limit_exceeded")
            got = await self.counters.bucket_take(f"tpm:{key.id}", key.tpm, prompt_tokens, prompt_tokens)
            held.headers.update({
                "x-ratelimit-limit-tokens": str(key.tpm),
                "x-ratelimit-remaining-tokens": str(max(0, math.floor(key.tpm - got.level))),
                "x-ratelimit-reset-tokens": _duration(got.level * 60 / key.tpm),
            })
            if not got.ok:
                raise APIError(429, f"Rate limit reached for tokens: limit {key.tpm} per minute, "
                               f"{math.floor(got.level)} used. Please try again in {_duration(got.retry_after)}.",
                               code="rate_limit_exceeded",
                               headers={**held.headers, "Retry-After": str(math.ceil(got.retry_after))})
            held.prompt_tokens = prompt_tokens
        if key.budget_tokens:
            now = datetime.now(timezone.utc)
            period_id, start, end = period_bounds(key.budget_period or "day", now)
            budget_key = f"budget:{key.id}:{period_id}"
            ttl = int((end - now).total_seconds()) + 86400

            async def seed() -> int:
                return await self.spent_since(key.id, start.timestamp())

            ok, spent = await self.counters.counter_take(budget_key, worst_case, key.budget_tokens, ttl, seed)
            if not ok:
                resets = end.isoformat(timespec="seconds").replace("+00:00", "Z")
                raise APIError(
                    429, f"This key's token budget of {key.budget_tokens} per {key.budget_period} is spent "
                    f"({spent} used or reserved; this request may need {worst_case}). It resets at {resets}.",
                    code="insufficient_quota",
                    headers={**held.headers, "Retry-After": str(math.ceil((end - now).total_seconds()))})
            held.budget_key, held.budget_reserved = budget_key, worst_case

    async def settle(self, held: Reservation, total_tokens: int) -> None:
        """The request's real token count (prompt + completion) replaces its reservations."""
        if held.prompt_tokens and held.key.tpm:
            extra = total_tokens - held.prompt_tokens
            if extra:
                await self.counters.bucket_take(f"tpm:{held.key.id}", held.key.tpm, 0, extra)
        if held.budget_key:
            await self.counters.counter_add(held.budget_key, total_tokens - held.budget_reserved)
            held.budget_key = None

    async def leave(self, held: Reservation) -> None:
        if held.slot:
            held.slot = False
            await self.counters.counter_add(f"conc:{held.key.id}", -1)

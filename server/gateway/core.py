"""The gateway's state and its per-request ticket: who is calling, what they hold, what they used.

Routes reach the gateway only through two hooks, both no-ops when a request carries no ticket:
``await reserve(prompt_tokens, worst_case)`` once the prompt is tokenized (tokens/min and budget), and
``track_run(run)`` from ``GenerationRun`` (the token counts, TTFT, finish reason and answer the ledger reads).

Who may call (``/v1/*``):
* the admin key (``--api-key``) always: no limits, the only key the admin API (``/v1/admin/*``) accepts,
  and the one that sees everyone's usage (another key sees its own);
* a key created with ``python -m server keys create``: within its scopes and limits;
* anyone, when there is neither an admin key nor any key in the store (an open server, as before keys);
  once a key exists, every request needs one.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from ..errors import APIError
from ..metrics import Metrics
from . import keys as keystore
from . import usage
from .counters import Counters
from .experiments import Experiment
from .keys import ApiKey, same_secret
from .ledger import LedgerWriter
from .limits import Limiter, Reservation
from .store import ledger, transcripts

log = logging.getLogger("server.gateway")

ADMIN_ID = "admin"


@dataclass
class Principal:
    key_id: str | None  # None on an open server
    owner: str | None
    key: ApiKey | None = None

    @property
    def is_admin(self) -> bool:
        return self.key_id == ADMIN_ID


@dataclass
class Ticket:
    """One generation request as the gateway sees it, from arrival to its ledger row."""

    request_id: str
    endpoint: str
    principal: Principal
    started: float = field(default_factory=time.perf_counter)
    created_at: float = field(default_factory=time.time)
    model: str | None = None
    served_model: str | None = None
    experiment: str | None = None
    variant: str | None = None
    user: str | None = None
    messages: list | None = None
    held: Reservation | None = None
    limiter: Limiter | None = None
    reserved_prompt_tokens: int = 0
    runs: list = field(default_factory=list)
    status: int = 500
    response_id: str | None = None
    response_started: bool = False
    completed: bool = False
    hung_up: bool = False
    settled: bool = False

    def token_counts(self) -> tuple[int, int, int]:
        """(prompt, cached, completion) as the model counted them."""
        if not self.runs:
            return (self.reserved_prompt_tokens if self.status < 400 else 0), 0, 0
        return (sum(r.prompt_tokens for r in self.runs), sum(r.cached_tokens for r in self.runs),
                sum(r.completion_tokens for r in self.runs))

    def row(self) -> dict:
        prompt, cached, completion = self.token_counts()
        firsts = [r.first_token_at for r in self.runs if r.first_token_at is not None]
        reasons = [c.finish_reason for r in self.runs for c in r.choices if c.finish_reason]
        return {
            "request_id": self.request_id, "response_id": self.response_id, "created_at": self.created_at,
            "day": datetime.fromtimestamp(self.created_at, timezone.utc).strftime("%Y-%m-%d"),
            "key_id": self.principal.key_id, "owner": self.principal.owner, "endpoint": self.endpoint,
            "model": self.model, "served_model": self.served_model or self.model, "experiment": self.experiment,
            "variant": self.variant, "user": self.user, "prompt_tokens": prompt, "cached_tokens": cached,
            "completion_tokens": completion, "latency_ms": (time.perf_counter() - self.started) * 1000,
            "ttft_ms": (min(firsts) - self.started) * 1000 if firsts else None, "status": self.status,
            "finish_reason": reasons[0] if reasons else None,
            "client_disconnected": self.hung_up,
        }

    def answer(self) -> str | None:
        if not self.runs or not self.runs[0].choices:
            return None
        return "".join(self.runs[0].choices[0].text)


current_ticket: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar("gateway_ticket", default=None)


async def reserve(prompt_tokens: int, worst_case: int) -> None:
    """Route hook: hold tokens/min and budget for a tokenized request before the engine runs (may 429)."""
    ticket = current_ticket.get()
    if ticket is None:
        return
    ticket.reserved_prompt_tokens = prompt_tokens
    if ticket.held is not None and ticket.limiter is not None:
        await ticket.limiter.reserve(ticket.held, prompt_tokens, worst_case)


def track_run(run) -> None:
    """GenerationRun hook: the ledger reads this run's counts when the request ends."""
    ticket = current_ticket.get()
    if ticket is not None:
        ticket.runs.append(run)


class Gateway:
    def __init__(self, *, db: Engine, counters: Counters, admin_key: str | None, metrics: Metrics,
                 experiments: dict[str, Experiment], store_transcripts: bool = True,
                 key_cache_s: float = 2.0) -> None:
        self.db = db
        self.counters = counters
        self.admin_key = admin_key
        self.metrics = metrics
        self.experiments = experiments
        self.store_transcripts = store_transcripts
        self.key_cache_s = key_cache_s  # a key revoked by the CLI (or another replica) stops within this long
        self.writer = LedgerWriter(db)
        self.limiter = Limiter(counters, self._spent_since)
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._any_keys: tuple[bool, float] = (False, 0.0)
        self._pending: set[asyncio.Task] = set()

    async def _spent_since(self, key_id: str, start: float) -> int:
        return await asyncio.to_thread(usage.spent_since, self.db, key_id, start)

    # -- who is calling --------------------------------------------------------------------------------

    def forget_keys(self) -> None:
        self._keys.clear()
        self._any_keys = (False, 0.0)

    async def _any_key_exists(self) -> bool:
        known, at = self._any_keys
        if time.monotonic() - at > self.key_cache_s:
            known = await asyncio.to_thread(keystore.count_keys, self.db) > 0
            self._any_keys = (known, time.monotonic())
        return known

    async def _lookup(self, secret: str) -> ApiKey | None:
        digest = keystore.hash_key(secret)
        cached = self._keys.get(digest)
        if cached is not None and time.monotonic() - cached[1] < self.key_cache_s:
            return cached[0]
        key = await asyncio.to_thread(keystore.find_by_secret, self.db, secret)
        if len(self._keys) > 10000:
            self._keys.clear()
        self._keys[digest] = (key, time.monotonic())
        return key

    async def authenticate(self, token: str) -> Principal:
        if self.admin_key and same_secret(token, self.admin_key):
            return Principal(ADMIN_ID, ADMIN_ID)
        if token:
            key = await self._lookup(token)
            if key is not None:
                state = key.state()
                if state != "active":
                    raise APIError(401, f"This API key has been {state}.", code="invalid_api_key")
                return Principal(key.id, key.owner, key)
        if not self.admin_key and not await self._any_key_exists():
            return Principal(None, None)
        raise APIError(401, "Incorrect or missing API key.", code="invalid_api_key")

    # -- the end of a request ------------------------------------------------------------------------

    async def finish(self, ticket: Ticket, *, wait: bool) -> None:
        """Settle the key's counters and write the ledger row (and transcript); ``wait``: until committed."""
        if ticket.settled:
            return
        ticket.settled = True
        row = ticket.row()
        key_label = ticket.principal.key_id or "none"
        self.metrics.key_requests.labels(key_label, str(ticket.status)).inc()
        self.metrics.key_tokens.labels(key_label, "prompt").inc(row["prompt_tokens"])
        self.metrics.key_tokens.labels(key_label, "completion").inc(row["completion_tokens"])
        transcript = None
        if (self.store_transcripts and ticket.messages is not None and ticket.response_id
                and ticket.status < 400 and (answer := ticket.answer())):
            transcript = {"response_id": ticket.response_id, "created_at": ticket.created_at,
                          "model": row["served_model"], "messages": ticket.messages, "answer": answer}
        if wait:
            await self._write(ticket, row, transcript)
        else:  # the request is being cancelled: queue the rows and settle in a task of its own
            self.writer.write_nowait(ledger, row)
            if transcript:
                self.writer.write_nowait(transcripts, transcript)
            task = asyncio.get_running_loop().create_task(self._settle(ticket, row))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _write(self, ticket: Ticket, row: dict, transcript: dict | None) -> None:
        writes = [self.writer.write(ledger, row)]
        if transcript:
            writes.append(self.writer.write(transcripts, transcript))
        # the commit and the counters' settlement overlap: the response waits for the slower of the two
        results = await asyncio.gather(self._settle(ticket, row), *writes, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):  # the client still gets its answer; the loss is logged
                log.error("gateway bookkeeping of %s failed: %s", ticket.request_id, result)

    async def _settle(self, ticket: Ticket, row: dict) -> None:
        if ticket.held is None:
            return
        await self.limiter.settle_and_leave(ticket.held, row["prompt_tokens"] + row["completion_tokens"])

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await asyncio.to_thread(self.writer.close)
        await self.counters.close()

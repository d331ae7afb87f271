"""Reading the ledger: usage grouped by key, model, variant or day; a key's spend in a budget period;
per-variant experiment figures with 95% confidence intervals; feedback."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .store import api_keys, feedback, ledger

GROUPS: dict[str, list[str]] = {
    "key": ["key_id", "owner"],
    "model": ["model"],
    "variant": ["experiment", "variant"],
    "day": ["day"],
}

Z95 = 1.959963984540054


def parse_time(text: str | None, param: str) -> float | None:
    """An ISO date/datetime (UTC unless it says otherwise) or unix seconds, as unix seconds."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{param}' must be an ISO date or datetime, or unix seconds; got {text!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _window(query, since: float | None, until: float | None):
    if since is not None:
        query = query.where(ledger.c.created_at >= since)
    if until is not None:
        query = query.where(ledger.c.created_at < until)
    return query


def usage(db: Engine, group_by: str, since: float | None = None, until: float | None = None,
          key_id: str | None = None) -> list[dict]:
    """Sums by group; ``key_id``: only that key's requests."""
    cols = [ledger.c[name] for name in GROUPS[group_by]]
    c = ledger.c
    query = _window(sa.select(
        *cols,
        sa.func.count().label("requests"),
        sa.func.coalesce(sa.func.sum(c.prompt_tokens), 0).label("prompt_tokens"),
        sa.func.coalesce(sa.func.sum(c.cached_tokens), 0).label("cached_tokens"),
        sa.func.coalesce(sa.func.sum(c.completion_tokens), 0).label("completion_tokens"),
        sa.func.sum(sa.case((c.status >= 400, 1), else_=0)).label("errors"),
        sa.func.sum(sa.case((c.client_disconnected, 1), else_=0)).label("client_disconnects"),
        sa.func.avg(c.latency_ms).label("mean_latency_ms"),
    ), since, until).group_by(*cols).order_by(*cols)
    if group_by == "variant":
        query = query.where(c.experiment.is_not(None))
    if key_id is not None:
        query = query.where(c.key_id == key_id)
    with db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for r in rows:
        for k in ("requests", "prompt_tokens", "cached_tokens", "completion_tokens", "errors", "client_disconnects"):
            r[k] = int(r[k] or 0)
        r["total_tokens"] = r["prompt_tokens"] + r["completion_tokens"]
        r["mean_latency_ms"] = round(float(r["mean_latency_ms"] or 0.0), 3)
    return rows


def spent_since(db: Engine, key_id: str, start: float) -> int:
    c = ledger.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.prompt_tokens + c.completion_tokens), 0)).where(
        c.key_id == key_id, c.created_at >= start)
    with db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def rows(db: Engine, since: float | None = None, until: float | None = None) -> list[dict]:
    """Every ledger row in the window, oldest first (for the CSV/JSON export)."""
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(_window(sa.select(ledger), since, until).order_by(ledger.c.id))]


def mean_ci(values: list[float]) -> dict:
    """Mean and a normal-approximation 95% interval (None bounds with fewer than two values)."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci95": [None, None]}
    mean = sum(values) / n
    if n < 2:
        return {"n": n, "mean": mean, "ci95": [None, None]}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = Z95 * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "ci95": [mean - half, mean + half]}


def wilson(positive: int, n: int) -> dict:
    """A share of positive ratings with its Wilson 95% interval."""
    if n == 0:
        return {"n": 0, "share": None, "ci95": [None, None]}
    p = positive / n
    denom = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / denom
    return {"n": n, "share": p, "ci95": [max(0.0, centre - half), min(1.0, centre + half)]}


def experiment_figures(db: Engine, experiment: str, since: float | None = None) -> list[dict]:
    """Per variant: requests, latency, TTFT, completion tokens (means with CIs), thumbs-up share (Wilson)."""
    c = ledger.c
    query = _window(sa.select(c.variant, c.latency_ms, c.ttft_ms, c.completion_tokens, c.status, c.response_id)
                    .where(c.experiment == experiment), since, None)
    fb = sa.select(feedback.c.response_id, feedback.c.rating)
    with db.connect() as conn:
        rows_ = conn.execute(query).all()
        ratings = {r.response_id: r.rating for r in conn.execute(fb)}
    by_variant: dict[str, list] = {}
    for r in rows_:
        by_variant.setdefault(r.variant, []).append(r)
    out = []
    for variant, items in sorted(by_variant.items()):
        ok = [r for r in items if r.status < 400]
        rated = [ratings[r.response_id] for r in items if r.response_id in ratings]
        out.append({
            "variant": variant,
            "requests": len(items),
            "errors": len(items) - len(ok),
            "latency_ms": mean_ci([r.latency_ms for r in ok]),
            "ttft_ms": mean_ci([r.ttft_ms for r in ok if r.ttft_ms is not None]),
            "completion_tokens": mean_ci([float(r.completion_tokens) for r in ok]),
            "thumbs_up": wilson(sum(1 for x in rated if x > 0), len(rated)),
        })
    return out


def key_owner_names(db: Engine) -> dict[str, str]:
    with db.connect() as conn:
        return {r.id: r.owner for r in conn.execute(sa.select(api_keys.c.id, api_keys.c.owner))}

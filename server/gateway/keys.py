"""API keys: creation (shown once), SHA-256 hashes at rest, constant-time checks, scopes, limits, budgets.

A key looks like ``sk-ale-<43 url-safe characters>``; only its SHA-256 and its first 10 characters (to tell
keys apart in listings) are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .store import api_keys

KEY_PREFIX = "sk-ale-"
_BUDGET = re.compile(r"^\s*(\d+)\s*/\s*(day|month)\s*$")


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (or hashes)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def parse_budget(text: str) -> tuple[int, str]:
    """'200000/day' -> (200000, 'day'); 'N/month' likewise."""
    m = _BUDGET.match(text)
    if not m:
        raise ValueError(f"a budget is TOKENS/day or TOKENS/month, got {text!r}")
    return int(m.group(1)), m.group(2)


def parse_expiry(text: str) -> float:
    """An ISO date or datetime (UTC unless it says otherwise) as unix seconds."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"an expiry is an ISO date or datetime such as 2027-01-31, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


@dataclass
class ApiKey:
    """One key's record (never its secret)."""

    id: str
    prefix: str
    owner: str
    models: list[str] = field(default_factory=list)
    rpm: int | None = None
    tpm: int | None = None
    max_concurrent: int | None = None
    budget_tokens: int | None = None
    budget_period: str | None = None
    expires_at: float | None = None
    created_at: float = 0.0
    revoked_at: float | None = None
    hash: str = ""

    @classmethod
    def from_row(cls, row) -> ApiKey:
        d = dict(row._mapping)
        d["models"] = [m for m in (d.get("models") or "").split(",") if m]
        return cls(**d)

    def state(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def allows_model(self, *names: str) -> bool:
        return not self.models or any(n in self.models for n in names if n)

    def public(self) -> dict:
        """The JSON the admin API and ``keys list --json`` show."""
        d = asdict(self)
        d.pop("hash")
        d["budget"] = f"{self.budget_tokens}/{self.budget_period}" if self.budget_tokens is not None else None
        for k in ("expires_at", "created_at", "revoked_at"):
            d[k] = iso(d[k])
        d["state"] = self.state()
        return d


LIMIT_FIELDS = ("owner", "models", "rpm", "tpm", "max_concurrent", "budget_tokens", "budget_period", "expires_at")


def _row_values(values: dict) -> dict:
    out = {k: v for k, v in values.items() if k in LIMIT_FIELDS}
    if "models" in out:
        out["models"] = ",".join(out["models"] or [])
    for k in ("rpm", "tpm", "max_concurrent", "budget_tokens"):
        if out.get(k) is not None and out[k] < 1:
            raise ValueError(f"{k} must be at least 1 (leave it out for no limit)")
    if (out.get("budget_tokens") is None) != (out.get("budget_period") is None) and (
            "budget_tokens" in out or "budget_period" in out):
        raise ValueError("a budget needs both tokens and a period (day or month)")
    return out


def create_key(db: Engine, owner: str, **limits) -> tuple[str, ApiKey]:
    """A new key: returns (the secret, shown only now, and its record)."""
    if not owner or not owner.strip():
        raise ValueError("a key needs an owner")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    values = _row_values({"owner": owner.strip(), "models": [], **limits})
    row = {"id": "key_" + uuid.uuid4().hex[:16], "hash": hash_key(secret), "prefix": secret[:10],
           "created_at": time.time(), **values}
    with db.begin() as conn:
        conn.execute(api_keys.insert().values(**row))
    return secret, get_key(db, row["id"])


def get_key(db: Engine, key_id: str) -> ApiKey:
    with db.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise KeyError(f"no key {key_id!r}")
    return ApiKey.from_row(row)


def list_keys(db: Engine) -> list[ApiKey]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at)).all()
    return [ApiKey.from_row(r) for r in rows]


def update_key(db: Engine, key_id: str, **changes) -> ApiKey:
    values = _row_values(changes)
    if values:
        with db.begin() as conn:
            if conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(**values)).rowcount == 0:
                raise KeyError(f"no key {key_id!r}")
    return get_key(db, key_id)


def revoke_key(db: Engine, key_id: str) -> ApiKey:
    with db.begin() as conn:
        done = conn.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                            .values(revoked_at=time.time())).rowcount
    key = get_key(db, key_id)
    if not done and key.revoked_at is None:
        raise KeyError(f"no key {key_id!r}")
    return key


def find_by_secret(db: Engine, secret: str) -> ApiKey | None:
    digest = hash_key(secret)
    with db.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.hash == digest)).first()
    if row is None:
        return None
    key = ApiKey.from_row(row)
    return key if same_secret(digest, key.hash) else None


def count_keys(db: Engine) -> int:
    with db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()

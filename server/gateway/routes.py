"""The gateway's HTTP API: keys (admin only), ``/v1/usage`` (everything for the admin key, its own requests
for any other key), ``/v1/experiments`` and ``POST /v1/feedback`` (any caller). The middleware has already
checked who is calling."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..deps import parse_body
from ..errors import APIError
from . import keys as keystore
from . import usage as ledger_usage
from .core import Gateway
from .store import feedback, ledger

router = APIRouter()


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway


class KeyLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] | None = None
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    budget: str | None = Field(None, description="TOKENS/day or TOKENS/month")
    expires: str | None = Field(None, description="ISO date or datetime")

    def values(self) -> dict:
        out = self.model_dump(exclude_unset=True, exclude={"budget", "expires"})
        try:
            if "budget" in self.model_fields_set:
                tokens, period = keystore.parse_budget(self.budget) if self.budget else (None, None)
                out.update(budget_tokens=tokens, budget_period=period)
            if "expires" in self.model_fields_set:
                out["expires_at"] = keystore.parse_expiry(self.expires) if self.expires else None
        except ValueError as exc:
            raise APIError(400, str(exc), param="budget" if "budget" in str(exc) else "expires",
                           code="invalid_value") from None
        return out


class NewKey(KeyLimits):
    owner: str = Field(min_length=1)


class KeyUpdate(KeyLimits):
    owner: str | None = Field(None, min_length=1)


async def _db_call(fn, *args, **kwargs):
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except KeyError as exc:
        raise APIError(404, str(exc.args[0]), code="key_not_found") from None
    except ValueError as exc:
        raise APIError(400, str(exc), code="invalid_value") from None


@router.post("/v1/admin/keys")
async def create_key(request: Request):
    body = await parse_body(request, NewKey)
    gw = _gateway(request)
    values = body.values()
    secret, key = await _db_call(keystore.create_key, gw.db, values.pop("owner"), **values)
    gw.forget_keys()
    return {**key.public(), "key": secret}


@router.get("/v1/admin/keys")
async def list_keys(request: Request):
    keys = await _db_call(keystore.list_keys, _gateway(request).db)
    return {"object": "list", "data": [k.public() for k in keys]}


@router.patch("/v1/admin/keys/{key_id}")
async def update_key(key_id: str, request: Request):
    body = await parse_body(request, KeyUpdate)
    gw = _gateway(request)
    values = body.values()
    if "owner" in values and values["owner"] is None:
        values.pop("owner")
    key = await _db_call(keystore.update_key, gw.db, key_id, **values)
    gw.forget_keys()
    return key.public()


@router.delete("/v1/admin/keys/{key_id}")
async def revoke_key(key_id: str, request: Request):
    gw = _gateway(request)
    key = await _db_call(keystore.revoke_key, gw.db, key_id)
    gw.forget_keys()
    return key.public()


def _window(request: Request) -> tuple[float | None, float | None]:
    try:
        return (ledger_usage.parse_time(request.query_params.get("since"), "since"),
                ledger_usage.parse_time(request.query_params.get("until"), "until"))
    except ValueError as exc:
        raise APIError(400, str(exc), param=str(exc).split("'")[1], code="invalid_value") from None


@router.get("/v1/usage")
async def get_usage(request: Request):
    group_by = request.query_params.get("group_by", "key")
    if group_by not in ledger_usage.GROUPS:
        raise APIError(400, f"'group_by' must be one of {', '.join(ledger_usage.GROUPS)}; got {group_by!r}",
                       param="group_by", code="invalid_value")
    since, until = _window(request)
    principal = request.scope.get("state", {}).get("principal")
    own = principal.key_id if principal is not None and principal.key is not None else None
    rows = await asyncio.to_thread(ledger_usage.usage, _gateway(request).db, group_by, since, until, own)
    return {"object": "list", "group_by": group_by, "scope": "key" if own else "all", "data": rows}


@router.get("/v1/experiments")
async def list_experiments(request: Request):
    gw = _gateway(request)
    since, _ = _window(request)
    out = []
    for exp in gw.experiments.values():
        figures = await asyncio.to_thread(ledger_usage.experiment_figures, gw.db, exp.name, since)
        out.append({"name": exp.name, "weights": {m: w for m, w in exp.variants}, "variants": figures})
    return {"object": "list", "data": out}


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(min_length=1, max_length=140)
    rating: Literal["up", "down"] | int
    comment: str | None = Field(None, max_length=10000)
    preferred: str | None = Field(None, max_length=100000, description="the answer the user wanted instead")


@router.post("/v1/feedback")
async def post_feedback(request: Request):
    body = await parse_body(request, FeedbackIn)
    rating = {"up": 1, "down": -1}.get(body.rating, body.rating) if isinstance(body.rating, str) else body.rating
    if rating not in (1, -1):
        raise APIError(400, "'rating' must be 'up', 'down', 1 or -1", param="rating", code="invalid_value")
    gw = _gateway(request)
    principal = request.scope.get("state", {}).get("principal")

    def known() -> bool:
        with gw.db.connect() as conn:
            return conn.execute(sa.select(ledger.c.id).where(ledger.c.response_id == body.response_id)
                                .limit(1)).first() is not None

    if not await asyncio.to_thread(known):
        raise APIError(404, f"No response with id '{body.response_id}' is in the ledger.", param="response_id",
                       code="response_not_found")
    row = {"response_id": body.response_id, "rating": rating, "comment": body.comment,
           "preferred": body.preferred, "key_id": principal.key_id if principal else None,
           "created_at": time.time()}
    await gw.writer.write(feedback, row)
    return {"object": "feedback", "response_id": body.response_id, "rating": rating}

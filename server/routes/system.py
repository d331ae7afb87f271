"""GET /health (503 while models load) and GET /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..deps import ServerState, get_state

router = APIRouter()


@router.get("/health")
async def health(state: ServerState = Depends(get_state)):
    registry = state.registry
    if registry.error is not None:
        return JSONResponse({"status": "error", "error": str(registry.error)}, status_code=503)
    if not registry.ready.is_set():
        return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "2"})
    failed = {s.id: s.error for s in registry.specs if s.error is not None}
    return {"status": "ok", "models": sorted(registry.engines), **({"failed": failed} if failed else {})}


@router.get("/metrics")
async def metrics(state: ServerState = Depends(get_state)):
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

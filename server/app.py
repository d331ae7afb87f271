"""The FastAPI application: routes, error handlers, body-size limit, request metrics, CORS, and the gateway
(keys, limits, ledger, experiments: ``server/gateway``) in front of ``/v1/*``."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import threading
import uuid

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aletheia.models import file_sha256

from . import errors, openapi
from .deps import ServerState
from .engines.base import BASE_SHA256_KEY, Engine
from .gateway import Gateway, build_gateway
from .gateway import routes as gateway_routes
from .gateway import ui as gateway_ui
from .gateway.middleware import GatewayMiddleware
from .kb.service import KnowledgeBase
from .metrics import Metrics
from .registry import ModelRegistry, ModelSpec, discover
from .routes import chat, completions, embeddings, files, models, responses, system, vector_stores
from .settings import Settings

log = logging.getLogger("server.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ENDPOINTS = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/health", "/metrics",
              "/v1/usage", "/v1/feedback", "/v1/experiments", "/v1/admin/keys"}


class _Guard:
    """Pure ASGI middleware: 413 for oversized bodies (declared or streamed), an ``x-request-id`` on every
    response (the client's own, if it sent a plain one, as OpenAI does), and a requests counter by endpoint
    and status. Keys are the gateway's (``GatewayMiddleware``, inside this one)."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app, self.settings, self.metrics = app, settings, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        endpoint = path if path in _ENDPOINTS else ("/v1/models/{id}" if path.startswith("/v1/models/") else
                                                    "/v1/admin/keys/{id}" if path.startswith("/v1/admin/keys/")
                                                    else "other")
        status_seen = {"code": 500}
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = f"req_{uuid.uuid4().hex}"
        # routes read these through server.deps (request_id, deadline): the deadline counts from arrival
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["deadline"] = asyncio.get_running_loop().time() + self.settings.request_timeout
        log.debug("request %s: %s %s arrived from %s", request_id, scope["method"], path, scope.get("client"))

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            limit = self.settings.max_body_bytes
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                return await self._reject(scope, counting_send, 413, f"The request body is larger than {limit} bytes.")
            if self.settings.database_url == "none" and self.settings.api_key and path.startswith("/v1/"):
                auth = headers.get("authorization", "")  # the gateway is off: only the one shared key
                token = auth[7:] if auth.lower().startswith("bearer ") else ""
                if not hmac.compare_digest(token.encode(), self.settings.api_key.encode()):
                    return await self._reject(scope, counting_send, 401, "Incorrect or missing API key.",
                                              code="invalid_api_key")
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyTooLarge()
                return message

            try:
                await self.app(scope, limited_receive, counting_send)
            except _BodyTooLarge:
                await self._reject(scope, counting_send, 413, f"The request body is larger than {limit} bytes.")
        finally:
            self.metrics.requests.labels(endpoint, str(status_seen["code"])).inc()

    @staticmethod
    async def _reject(scope, send, status: int, message: str, code: str | None = None) -> None:
        response = errors.error_response(status, message, code=code)
        await response(scope, _no_receive, send)


class _BodyTooLarge(Exception):
    pass


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def make_engine_factory(settings: Settings, metrics: Metrics):
    """Engines for model specs. Specs over the same GGUF share one loaded ``LlamaModel`` (weights in memory
    once) and take turns in ``llama_decode``; each adapter gets its own context with the adapter applied, so
    its slots and prefix cache never mix with the base's (KV computed under one adapter is wrong under another)."""
    models: dict[str, tuple[object, threading.Lock]] = {}
    base_digests: dict[str, str] = {}

    def make(spec: ModelSpec) -> Engine:
        if settings.engine == "vllm":
            from .engines.vllm_engine import VLLMEngine

            if spec.adapter is not None:
                raise NotImplementedError(f"{spec.id}: the vLLM engine does not serve GGUF LoRA adapters yet")
            engine = VLLMEngine(spec.path, n_ctx=settings.ctx_size, n_parallel=settings.parallel,
                                max_waiting=settings.queue_size)
        else:
            from .engines.llama_batched import LlamaBatchedEngine
            from .engines.llama_model import AdapterError, LlamaModel

            key = str(spec.path)
            if key not in models:
                models[key] = (LlamaModel(spec.path), threading.Lock())
            model, decode_lock = models[key]
            adapter = None
            if spec.adapter is not None:
                adapter = model.load_adapter(spec.adapter)
                wanted = adapter.metadata(BASE_SHA256_KEY)
                if wanted:
                    if key not in base_digests:
                        base_digests[key] = file_sha256(spec.path)
                    if wanted != base_digests[key]:
                        raise AdapterError(f"LoRA adapter {spec.adapter} was trained on other weights (base "
                                           f"sha256 {wanted[:12]}…), not on {spec.path.name} of '{spec.parent}'")
            engine = LlamaBatchedEngine(
                model, n_ctx=settings.ctx_size, n_parallel=settings.parallel,
                n_batch=settings.batch_size, n_threads=settings.threads, max_waiting=settings.queue_size,
                kv_unified=settings.kv_unified, observer=metrics.step_observer(spec.id),
                adapter=adapter, decode_lock=decode_lock,
            )
        metrics.track_engine(spec.id, engine.stats)
        return engine

    return make


def check_experiments(gateway: Gateway, registry: ModelRegistry) -> None:
    """Every experiment's variants are served model ids, and its name is not one."""
    served = {name for spec in registry.specs for name in [spec.id, *spec.aliases]}
    for exp in gateway.experiments.values():
        if exp.name in served:
            raise ValueError(f"--experiment {exp.name}: that name is already a served model")
        missing = [m for m, _ in exp.variants if m not in served]
        if missing:
            raise ValueError(f"--experiment {exp.name}: not served: {', '.join(missing)} "
                             f"(served: {', '.join(sorted(served))})")


def create_app(settings: Settings, registry: ModelRegistry | None = None) -> FastAPI:
    metrics = Metrics()
    if registry is None:
        specs = discover(settings.models, settings.models_dir, settings.loras, settings.shipped_models_dir)
        registry = ModelRegistry(specs, make_engine_factory(settings, metrics))
    gateway = build_gateway(settings, metrics) if settings.database_url != "none" else None
    if gateway is not None:
        check_experiments(gateway, registry)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if gateway is not None and hasattr(gateway.counters, "ping"):
            await gateway.counters.ping()  # an unreachable Redis stops the start, with its address
        registry.load_in_background()
        yield
        if gateway is not None:
            await gateway.close()
        registry.close()

    app = FastAPI(title="Aletheia", version="0.1.0", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.server = ServerState(settings=settings, registry=registry, metrics=metrics)
    app.state.kb = KnowledgeBase(settings.kb_dir)
    app.state.gateway = gateway
    errors.install(app)
    for module in (chat, completions, embeddings, models, system, files, vector_stores, responses):
        app.include_router(module.router)
    if gateway is not None:
        app.include_router(gateway_routes.router)
        app.include_router(gateway_ui.router)
        app.add_middleware(GatewayMiddleware, gateway=gateway)
    openapi.install(app)
    app.add_middleware(_Guard, settings=settings, metrics=metrics)
    if settings.cors_origins:  # outermost: a browser's preflight carries no API key
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["*"], expose_headers=["x-request-id"], max_age=600)
    return app

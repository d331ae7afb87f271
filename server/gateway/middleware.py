"""The gateway as pure ASGI middleware on ``/v1/*``: authentication, model scopes, A/B assignment, limits,
and the ledger row of every generation request, written before the response's last byte is sent."""

from __future__ import annotations

import asyncio
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import errors
from ..errors import APIError
from .core import Gateway, Principal, Ticket, current_ticket

GENERATION_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
ADMIN_PREFIXES = ("/v1/admin/",)
VARIANT_HEADER = "x-aletheia-variant"
CLIENT_CLOSED = 499  # the ledger's status for a request whose client left before any response (nginx's code)
SSE_DONE = b"data: [DONE]\n\n"
_RESPONSE_ID = re.compile(rb'"id"\s*:\s*"([^"\\]{1,140})"')


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app, self.gateway = app, gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or scope.get("method") == "OPTIONS":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        try:
            principal = await self.gateway.authenticate(token)
            if path.startswith(ADMIN_PREFIXES) and not principal.is_admin:
                if not self.gateway.admin_key:
                    raise APIError(403, "The admin API is off: start the server with --api-key (the admin key).",
                                   code="admin_api_disabled")
                raise APIError(401 if principal.key_id is None else 403,
                               "This endpoint needs the admin key.", code="admin_key_required")
        except APIError as exc:
            return await exc.response()(scope, receive, send)
        scope.setdefault("state", {})["principal"] = principal
        if path not in GENERATION_PATHS or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        await self._generation(scope, receive, send, principal)

    async def _generation(self, scope: Scope, receive: Receive, send: Send, principal: Principal) -> None:
        gw = self.gateway
        state = scope.setdefault("state", {})
        ticket = Ticket(request_id=state.get("request_id", ""), endpoint=scope["path"], principal=principal,
                        limiter=gw.limiter)
        settings = scope["app"].state.server.settings
        try:
            async with asyncio.timeout(settings.body_timeout):  # as the routes' own body read does
                body = await _read_body(receive)
        except TimeoutError:
            exc = APIError(408, f"The request body did not arrive within {settings.body_timeout:g} seconds.",
                           code="timeout")
            return await exc.response()(scope, receive, send)
        body = self._route(ticket, body, scope)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        extra_headers: list[tuple[bytes, bytes]] = []
        if ticket.variant:
            extra_headers.append((VARIANT_HEADER.encode(), ticket.variant.encode()))
        sniffed = False

        async def tracking_send(message: Message) -> None:
            nonlocal sniffed
            if message["type"] == "http.response.start":
                ticket.status, ticket.response_started = message["status"], True
                held = ticket.held.headers if ticket.held else {}
                present = {k.lower() for k, _ in message.get("headers", [])}  # a 429 carries them already
                message = {**message, "headers": [*message.get("headers", []), *extra_headers, *(
                    (k.encode(), v.encode()) for k, v in held.items() if k.encode() not in present)]}
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if not sniffed and chunk:
                    sniffed = True
                    if ticket.status < 400 and (m := _RESPONSE_ID.search(chunk[:400])):
                        ticket.response_id = m.group(1).decode()
                # the row is committed before the client can see the end: the last body message, or a
                # stream's `data: [DONE]` (which a client stops reading at)
                if not ticket.settled and (not message.get("more_body", False) or chunk.endswith(SSE_DONE)):
                    ticket.completed = True
                    await gw.finish(ticket, wait=True)
            await send(message)

        token = current_ticket.set(ticket)
        try:
            try:
                problem = self._check_model(ticket)
                if problem is not None:
                    raise problem
                if principal.key is not None:
                    ticket.held = await gw.limiter.enter(principal.key)
            except APIError as exc:
                headers = {**(exc.headers or {})}
                response = errors.error_response(exc.status, exc.message, param=exc.param, code=exc.code,
                                                 headers=headers)
                return await response(scope, replay, tracking_send)
            await self.app(scope, replay, tracking_send)
        except asyncio.CancelledError:  # the route saw the client hang up before the response began
            ticket.hung_up = True
            if not ticket.response_started:
                ticket.status = CLIENT_CLOSED
            raise
        finally:
            current_ticket.reset(token)
            if not ticket.settled:  # the client went away (or the app failed) before the last byte
                if ticket.response_started and not ticket.completed:
                    ticket.hung_up = True
                await gw.finish(ticket, wait=False)

    def _route(self, ticket: Ticket, body: bytes, scope: Scope) -> bytes:
        """Read the model and user; an experiment's name becomes its variant's model id in the body."""
        try:
            parsed = json.loads(body) if body else None
        except (ValueError, RecursionError):  # the route answers a body it cannot parse with a 400
            return body
        if not isinstance(parsed, dict):
            return body
        model, user = parsed.get("model"), parsed.get("user")
        ticket.model = model if isinstance(model, str) else None
        ticket.user = user if isinstance(user, str) else None
        if ticket.endpoint == "/v1/chat/completions" and isinstance(parsed.get("messages"), list):
            ticket.messages = parsed["messages"]
        experiment = self.gateway.experiments.get(ticket.model or "")
        if experiment is None:
            ticket.served_model = ticket.model
            return body
        ticket.experiment = experiment.name
        ticket.variant = ticket.served_model = experiment.assign(ticket.user or ticket.principal.key_id)
        body = json.dumps({**parsed, "model": ticket.variant}).encode()
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"] + [
            (b"content-length", str(len(body)).encode())]
        return body

    @staticmethod
    def _check_model(ticket: Ticket) -> APIError | None:
        key = ticket.principal.key
        if key is None or key.allows_model(ticket.model or "", ticket.served_model or ""):
            return None
        return APIError(403, f"This API key may not use the model '{ticket.model}' (allowed: "
                        f"{', '.join(key.models)}).", param="model", code="model_not_allowed")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)

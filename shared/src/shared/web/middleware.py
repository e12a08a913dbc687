"""Per-request context as plain ASGI (cheaper than BaseHTTPMiddleware): request id, log line, metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import Token

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.context import Context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import request_id_var, user_id_var
from shared.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS
from shared.telemetry import tracing_enabled
from shared.web.problems import unexpected_error_response

logger = logging.getLogger("shared.access")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Every answer: never content-sniffed, never framed (a route may set a stricter policy itself).
_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
_FRAMING_POLICY = (b"content-security-policy", b"frame-ancestors 'none'")
# Probes and scrapes are frequent and uninteresting: counted, not logged.
_QUIET_PREFIXES = ("/health/", "/metrics")


class RequestContextMiddleware:
    """Keeps or assigns X-Request-ID, echoes it back, adds the security headers every answer
    carries, logs one JSON line and records RED metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Decided once: the tracer provider is installed at process start, before any app.
        self._carry_trace = not tracing_enabled()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        # Without the tracing middleware, the caller's trace context still reaches the events.
        trace_token = _attach_incoming_trace(scope) if self._carry_trace else None
        id_token = request_id_var.set(request_id)
        user_token = user_id_var.set(None)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [header for header in _SECURITY_HEADERS if header[0] not in names]
                if _FRAMING_POLICY[0] not in names:
                    headers.append(_FRAMING_POLICY)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Answered here, not in Starlette's outermost error layer, so the answer still carries
            # the request id (body, header and log line). Here, not in an exception handler, so
            # a database outage is a 503 wherever it surfaced (a dependency's exit included).
            if response_started:
                raise
            crash = unexpected_error_response(exc, method=scope["method"], path=scope["path"])
            await crash(scope, receive, send_with_id)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
            if not scope["path"].startswith(_QUIET_PREFIXES):
                logger.info(
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(id_token)
            user_id_var.reset(user_token)
            if trace_token is not None:
                otel_context.detach(trace_token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.fullmatch(candidate) else None
    return None


def _attach_incoming_trace(scope: Scope) -> Token[Context] | None:
    for name, value in scope["headers"]:
        if name == b"traceparent":
            carrier = {"traceparent": value.decode("latin-1")}
            return otel_context.attach(propagate.extract(carrier))
    return None


def _route_template(scope: Scope) -> str:
    # The template, not the raw path, keeps metric cardinality bounded.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"

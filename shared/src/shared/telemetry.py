"""Tracing with the OpenTelemetry SDK: one provider per process, exporters chosen by environment.

Export follows the standard OTEL_* variables: OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, nothing otherwise; `<SVC>_TRACES_FILE` also writes
finished spans as JSON lines (the local stack uses it to inspect traces). Sampling is the SDK's
OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, by default parent-based, always on.

Context crosses RabbitMQ as W3C `traceparent`/`tracestate` headers: captured into the outbox row
with the event, put on the AMQP message by the relay, and continued by the consumer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

TRACER_NAME = "shared"


class JsonLinesSpanExporter(SpanExporter):
    """Finished spans as one JSON object per line, appended to a file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[str] = path.open("a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self._out.write(json.dumps(json.loads(span.to_json()), separators=(",", ":")) + "\n")
        self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


def configure_tracing(
    *, service: str, replica: str, traces_file: str | None = None
) -> TracerProvider | None:
    """Install the process's tracer provider when spans go somewhere; call once, at start.

    With no exporter, the API's no-op provider stays: spans cost nearly nothing, and incoming
    trace context still flows on to events and downstream services.
    """
    otlp = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if not otlp and not traces_file:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.instance.id": replica})
    )
    if otlp:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if traces_file:
        # Written as each span ends, so a test or a person reading the file sees it at once.
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(Path(traces_file))))
    trace.set_tracer_provider(provider)
    return provider


def tracing_enabled() -> bool:
    """True once an SDK provider records spans (configure_tracing found an exporter)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_trace_headers() -> dict[str, str]:
    """The active span's W3C trace context, to store with an event or put on a message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_headers(headers: Mapping[str, object] | None) -> Context:
    """The trace context a message or outbox row carries (an empty one if none)."""
    carrier = {k: v for k, v in (headers or {}).items() if isinstance(v, str)}
    return propagate.extract(carrier)


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the active span, for log lines; None outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def instrument_libraries() -> None:
    """Trace PostgreSQL statements, Redis and httpx calls from now on (once per process), when spans
    go somewhere: without an exporter each wrapped call would pay for spans nobody records."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # At the driver, not SQLAlchemy: the reads run on asyncpg directly (shared.db.CompiledRead),
    # and SQLAlchemy's instrumentation refuses SQLAlchemy 2.1 (it logged an error and traced none).
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]  # untyped upstream
    RedisInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()

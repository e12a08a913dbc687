"""Prometheus metrics the shared library records; each process exposes them on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
READY = Gauge(
    "service_ready", "1 when the replica's readiness checks pass, measured at each scrape"
)
HTTP_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being served")
TOKEN_REJECTIONS = Counter(
    "auth_token_rejections_total", "Access tokens refused, by reason", ["reason"]
)
EVENTS_PUBLISHED = Counter("events_published_total", "Events confirmed by the broker", ["type"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox publish attempts that failed", ["type"]
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total",
    "Events taken from the queue, by outcome (handled, duplicate, retried, dead_lettered)",
    ["type", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total",
    "Events the consumer sent to the dead-letter queue, by reason: rejected (unreadable) or"
    " delivery_limit (its handler failed on the last delivery the queue allows)",
    ["type", "reason"],
)
BROKER_CONNECTED = Gauge("broker_connected", "1 while the AMQP connection is open")
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published")
EVENT_ROWS_SWEPT = Counter(
    "event_rows_swept_total", "Sent outbox and old inbox rows deleted by retention", ["table"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row"
)
EVENTS_QUEUE_DEPTH = Gauge(
    "events_queue_depth", "Messages waiting in a consumer queue (consumer lag)", ["queue"]
)
DEAD_LETTER_QUEUE_DEPTH = Gauge(
    "events_dead_letter_queue_depth",
    "Messages waiting in the service's dead-letter queue, as the broker counts them",
    ["queue"],
)
DB_POOL_CHECKED_OUT = Gauge("db_pool_connections_in_use", "Database connections checked out")
DB_POOL_SIZE = Gauge("db_pool_connections_open", "Database connections the pool holds open")

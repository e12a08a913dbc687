"""/metrics labels every sample with the service and replica that made it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from shared.web.exposition import exposition


def test_every_sample_carries_the_constant_labels_unless_it_names_its_own() -> None:
    registry = CollectorRegistry()
    Counter("jobs", "Jobs done.", ["outcome"], registry=registry).labels(outcome="ok").inc(2)
    Counter("hops", "Hops.", ["service"], registry=registry).labels(service="auth").inc()
    Histogram("waits_seconds", "Waits.", registry=registry).observe(0.3)
    text = exposition({"service": "todos", "replica": "todos-1"}, registry).decode()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    assert samples and all(s.labels["replica"] == "todos-1" for s in samples)
    jobs = next(s for s in samples if s.name == "jobs_total")
    assert jobs.labels == {"service": "todos", "replica": "todos-1", "outcome": "ok"}
    assert jobs.value == 2
    hops = next(s for s in samples if s.name == "hops_total")
    assert hops.labels["service"] == "auth"
    buckets = [s for s in samples if s.name == "waits_seconds_bucket"]
    assert buckets and all(s.labels["service"] == "todos" and "le" in s.labels for s in buckets)

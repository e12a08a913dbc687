"""/metrics as Prometheus reads it, every sample labelled with the service (and replica) that
made it: the dashboards work on any scrape, not only with a scrape config that adds the label."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class _Labelled(Collector):
    def __init__(self, source: CollectorRegistry, labels: Mapping[str, str]) -> None:
        self._source = source
        self._labels = dict(labels)

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            # A sample's own label wins: a metric that names a service means that one.
            labelled.samples = [
                sample._replace(labels={**self._labels, **sample.labels})
                for sample in family.samples
            ]
            yield labelled


def exposition(labels: Mapping[str, str], source: CollectorRegistry = REGISTRY) -> bytes:
    """The text exposition of `source`, with `labels` on every sample."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Labelled(source, labels))
    return generate_latest(registry)

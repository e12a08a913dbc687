"""Every query of the Grafana dashboard names metrics the services really expose."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tools.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "suite-dashboard.json"
PROMQL_WORDS = {
    "sum", "by", "rate", "max", "min", "histogram_quantile", "le", "status", "service", "type",
    "outcome", "queue", "reason", "without", "avg", "irate", "increase", "or",
}  # fmt: skip


def exposed_sample_names() -> set[str]:
    # Importing each service registers its metrics, as its process does at start.
    for service in SERVICES:
        importlib.import_module(f"{service.package}.main")
    names: set[str] = set()
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        suffixes = {
            "counter": ["_total", "_created"],
            "histogram": ["_bucket", "_sum", "_count", "_created"],
            "summary": ["_sum", "_count", "_created"],
        }.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"[0-9.]+", w)}


def test_every_dashboard_query_uses_exposed_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10
    exposed = exposed_sample_names()
    for expr in exprs:
        unknown = metric_names(expr) - exposed
        assert not unknown, f"{expr!r} uses metrics no service exposes: {sorted(unknown)}"


def test_the_extractor_sees_the_metric_names() -> None:
    names = metric_names('sum by (service) (rate(http_requests_total{status=~"5.."}[5m]))')
    assert names == {"http_requests_total"}

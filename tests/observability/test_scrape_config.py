"""deploy/prometheus/prometheus.yml scrapes every replica `make run` starts, at its default port."""

from __future__ import annotations

from pathlib import Path

import yaml

from tools.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_scrape_config_names_every_replica() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    targets = {group["labels"]["service"]: group["targets"] for group in job["static_configs"]}
    assert targets == {s.name: [f"127.0.0.1:{s.local_port(i)}" for i in (1, 2)] for s in SERVICES}

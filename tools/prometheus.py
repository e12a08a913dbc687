"""A Prometheus (Debian's package) scraping the local suite: `SUITE_PROMETHEUS=1 make run`, and the
test that evaluates the dashboard and the alert rules on real data (tests/e2e/test_prometheus.py).

Its configuration is deploy/prometheus/prometheus.yml's (tests/observability compares them), with
absolute paths and, for tests, a shorter interval. The suite writes the replicas it started to a
file_sd targets file, so the ports scraped are always the ones in use.

Standard library only, like tools.infra: the configuration is written as JSON, which YAML reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import infra

PROMETHEUS_DIR = infra.ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "alerts.yml"
JOB = "suite"


def default_port() -> int:
    """Where the Prometheus of `make run` listens (the dashboard test uses this + 1000)."""
    return int(os.environ.get("SUITE_PROMETHEUS_PORT", 9090))


def target_groups(replicas: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    """file_sd groups from (service, port) pairs: each service's replicas, labelled with its name."""
    groups: dict[str, list[str]] = {}
    for service, port in replicas:
        groups.setdefault(service, []).append(f"127.0.0.1:{port}")
    return [{"targets": targets, "labels": {"service": s}} for s, targets in groups.items()]


def write_targets(path: Path, replicas: Iterable[tuple[str, int]]) -> Path:
    """Write the targets file whole at once: Prometheus watches it and must never read half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(target_groups(replicas), indent=2))
    partial.replace(path)
    return path


def config(targets: Path, *, interval: str = "15s") -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml, for the targets file `targets`, scraping every `interval`."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": "/metrics",
                "honor_labels": True,
                "file_sd_configs": [{"files": [str(targets)]}],
            }
        ],
    }


@dataclass(frozen=True)
class Server:
    """A Prometheus this module started: its HTTP API, and how to stop it."""

    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def start(folder: Path, *, port: int, targets: Path, interval: str = "15s") -> Server:
    """Start Prometheus with its configuration, data and log in `folder`; wait until it is ready."""
    if infra.port_open(port):
        raise RuntimeError(f"port {port} is taken: set SUITE_PROMETHEUS_PORT to a free one")
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "prometheus.yml"
    conf.write_text(json.dumps(config(targets, interval=interval), indent=2))
    log = folder / "prometheus.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [
                infra.PROMETHEUS,
                f"--config.file={conf}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=2d",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the suite, which stops it in order
        )
    server = Server(popen, port, log)
    deadline = time.monotonic() + 60
    while not _ready(server.url):
        if popen.poll() is not None:
            raise RuntimeError(f"prometheus exited with {popen.returncode}; see {log}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"prometheus not ready after 60 s; see {log}")
        time.sleep(0.2)
    return server

"""The local Prometheus configuration: the committed file and the one tools.prometheus writes agree,
scrape the replicas the suite really started, load the alert rules, and pass promtool."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools import infra, prometheus, suite
from tools.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def test_the_committed_config_reads_the_targets_file_the_suite_writes() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    (job,) = config["scrape_configs"]
    (sd,) = job["file_sd_configs"]
    (targets,) = sd["files"]
    local = suite.Suite(suite.Layout(), 2)
    assert (CONFIG.parent / targets).resolve() == local.targets_file.resolve()
    assert (CONFIG.parent / config["rule_files"][0]).resolve() == prometheus.RULES


def test_the_generated_config_is_the_committed_one_but_for_paths_and_interval(
    tmp_path: Path,
) -> None:
    committed = yaml.safe_load(CONFIG.read_text())
    generated = prometheus.config(tmp_path / "targets.json", interval="1s")
    assert generated["rule_files"] == [str(prometheus.RULES)]
    assert generated["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert committed["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}
    for job in (committed["scrape_configs"][0], generated["scrape_configs"][0]):
        job.pop("file_sd_configs")
    assert generated["scrape_configs"] == committed["scrape_configs"]


def test_the_targets_are_every_replica_at_its_port_labelled_with_its_service(
    tmp_path: Path,
) -> None:
    replicas = suite.Layout().replicas(2)
    path = prometheus.write_targets(
        tmp_path / "targets.json", [(r.service.name, r.port) for r in replicas]
    )
    groups = json.loads(path.read_text())
    found = {group["labels"]["service"]: group["targets"] for group in groups}
    assert found == {
        s.name: [f"127.0.0.1:{r.port}" for r in replicas if r.service == s] for s in SERVICES
    }


@pytest.mark.parametrize("what", ["rules", "config"])
def test_promtool_accepts_the_rules_and_the_configuration(what: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or infra.PROMTOOL
    if what == "rules":
        target = prometheus.RULES
    else:  # as tools.prometheus writes it, with a targets file in place
        target = tmp_path / "prometheus.yml"
        targets = prometheus.write_targets(tmp_path / "targets.json", [("todos", 8301)])
        target.write_text(json.dumps(prometheus.config(targets)))
    checked = subprocess.run(
        [promtool, "check", what, str(target)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "WARNING" not in checked.stdout + checked.stderr

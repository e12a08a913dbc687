"""Every Mermaid diagram of the README renders with the real Mermaid CLI (npm), in Debian's
Chromium: a diagram that fails to parse shows readers an error box instead."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.infra import CHROMIUM, CHROMIUM_ARGS, ROOT

MERMAID_CLI = "@mermaid-js/mermaid-cli@11.12.0"
BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)
DIAGRAMS = BLOCK.findall((ROOT / "README.md").read_text())


@pytest.fixture(scope="session")
def mmdc() -> list[str]:
    """The Mermaid CLI, installed once into .state/tools (its own browser download skipped)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make test installs it (Debian's chromium) as root")
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js 20 (Debian's nodejs and npm)")
    prefix = ROOT / ".state" / "tools" / "mermaid"
    binary = prefix / "node_modules" / ".bin" / "mmdc"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", MERMAID_CLI],
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
            check=True,
            capture_output=True,
            timeout=600,
        )
    config = prefix / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": CHROMIUM, "args": CHROMIUM_ARGS}))
    return [str(binary), "--puppeteerConfigFile", str(config)]


def test_the_readme_has_diagrams() -> None:
    assert len(DIAGRAMS) >= 3


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda d: d.split("\n", 1)[0].strip())
def test_each_diagram_renders(mmdc: list[str], diagram: str, tmp_path: Path) -> None:
    source, output = tmp_path / "diagram.mmd", tmp_path / "diagram.svg"
    source.write_text(diagram)
    result = subprocess.run(
        [*mmdc, "--input", str(source), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<svg" in output.read_text()

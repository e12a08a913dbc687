"""The suite under Docker Compose, on the private engine: built, started once per session, torn down.

`make test-compose` runs these (SUITE_COMPOSE_TESTS=1; `make test` leaves this folder out). The
project's docker-compose.yml runs as it is; the SUITE_*_IMAGE variables point it at stand-ins
(tools.compose), and docker-compose.test.yml beside this file only lifts the gateway's login
limit, as the e2e tests' local suite does: every request here comes from one address.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.nginx import render
from tools import compose, docker_engine

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "suite-compose-test"
OVERRIDE = Path(__file__).with_name("docker-compose.test.yml")
FIGURES: dict[str, Any] = {}


@dataclass
class Stack:
    """The running compose project and the commands that act on it."""

    env: dict[str, str]
    base_url: str
    command: list[str] = field(default_factory=list)

    def compose(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [*self.command, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed:\n{done.stderr[-1500:]}\n{self.failed_logs()}"
            )
        return done.stdout

    def failed_logs(self) -> str:
        """The last lines of every container that exited with an error: why `up` failed."""
        failed = [c for c in self.containers() if c["State"]["Status"] == "exited"]
        lines = []
        for container in failed:
            if container["State"]["ExitCode"] != 0:
                lines.append(f"--- {container['Name']} exited {container['State']['ExitCode']}")
                logs = subprocess.run(
                    [docker_engine.client(), "logs", "--tail", "25", container["Id"]],
                    env=self.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=30,
                    check=False,
                )
                lines.append(logs.stdout)
        return "\n".join(lines)

    def logs(self, service: str, *needles: str, tail: int = 40) -> str:
        """The lines of a service's logs that hold any of `needles`: why a request failed."""
        lines = []
        for container in self.containers(service):
            found = subprocess.run(
                [docker_engine.client(), "logs", container["Id"]],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=60,
                check=False,
            )
            lines += [line for line in found.stdout.splitlines() if any(n in line for n in needles)]
        return "\n".join(lines[-tail:])

    def save_logs(self, folder: Path) -> None:
        """Every container's full logs into `folder`, one file per container: a failed run's
        evidence outlives `compose down`."""
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.log"):
            stale.unlink()
        for container in self.containers():
            with (folder / f"{container['Name'].lstrip('/')}.log").open("w") as out:
                subprocess.run(
                    [docker_engine.client(), "logs", "--timestamps", container["Id"]],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=60,
                    check=False,
                )

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        done = subprocess.run(
            [docker_engine.client(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        """`docker inspect` of the project's containers (of one service), running or not."""
        found = compose.containers(PROJECT, self.env)
        return [
            c
            for c in found
            if service is None or c["Config"]["Labels"]["com.docker.compose.service"] == service
        ]

    def running(self, service: str) -> list[dict[str, Any]]:
        return [c for c in self.containers(service) if c["State"]["Status"] == "running"]

    def scale(self, service: str, replicas: int) -> None:
        self.compose(
            "up", "-d", "--no-deps", "--no-recreate", "--scale", f"{service}={replicas}", service
        )

    def readiness(self, container: dict[str, Any]) -> int:
        """The status of a replica's /health/readiness, asked from inside it (never published)."""
        probe = (
            "import urllib.request, urllib.error\n"
            "try:\n"
            "    print(urllib.request.urlopen('http://127.0.0.1:8000/health/readiness', timeout=10).status)\n"
            "except urllib.error.HTTPError as e:\n"
            "    print(e.code)\n"
            "except Exception:\n"
            "    print(0)\n"
        )
        out = self.docker("exec", container["Id"], "python", "-c", probe, check=False)
        return int(out.strip() or 0)


def _network_state() -> tuple[set[str], str]:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    names = {line.split(":")[1].strip().split("@")[0] for line in links.stdout.splitlines()}
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)
    kept = "\n".join(line for line in rules.stdout.splitlines() if not line.startswith(("#", ":")))
    return names, kept


def _published_port() -> str:
    """SUITE_COMPOSE_TEST_PORT, else 100 above SUITE_GATEWAY_PORT (8080: 8180), so a run keeps
    to the port family it was given; refused when something already listens there."""
    default = int(os.environ.get("SUITE_GATEWAY_PORT", "8080")) + 100
    port = int(os.environ.get("SUITE_COMPOSE_TEST_PORT") or default)
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise pytest.UsageError(
                f"port {port} is taken; set SUITE_COMPOSE_TEST_PORT (or SUITE_GATEWAY_PORT)"
            )
    return str(port)


def _gateway_config(path: Path) -> None:
    # The shipped compose config with the e2e tests' login limit, and nothing else changed.
    path.write_text(render.render(target="compose", auth_rate="6000r/m", auth_burst=200))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The suite built and up under compose on the private engine; everything removed after."""
    links_before, rules_before = _network_state()
    engine_was_running = docker_engine.answers(docker_engine.socket_url())
    started = time.monotonic()
    env = {**compose.stand_in_env(), **os.environ}
    env["DOCKER_HOST"] = docker_engine.start()
    FIGURES["engine_start_s"] = round(time.monotonic() - started, 1)
    port = _published_port()
    env["SUITE_GATEWAY_PORT"] = port
    state = docker_engine.state()
    env["SUITE_COMPOSE_TEST_GATEWAY_CONF"] = str(state / "nginx.compose-test.conf")
    _gateway_config(state / "nginx.compose-test.conf")
    subprocess.run(["python", "-m", "deploy.make_secrets", "compose"], cwd=ROOT, check=True)

    phase = time.monotonic()
    FIGURES["stand_in_builds_s"] = compose.build_stand_ins(env)
    FIGURES["stand_ins_s"] = round(time.monotonic() - phase, 1)
    phase = time.monotonic()
    FIGURES["suite_builds_s"] = compose.build_suite(env)
    FIGURES["suite_images_s"] = round(time.monotonic() - phase, 1)

    command = [
        *compose.compose_command(env),
        "-p",
        PROJECT,
        "-f",
        str(compose.COMPOSE_FILE),
        "-f",
        str(OVERRIDE),
    ]
    found = Stack(env=env, base_url=f"http://127.0.0.1:{port}", command=command)
    try:
        phase = time.monotonic()
        found.compose("up", "-d", "--no-build")
        FIGURES["up_until_healthy_s"] = round(
            time.monotonic() - phase + compose.wait_healthy(PROJECT, env, timeout=300), 1
        )
        yield found
    finally:
        found.save_logs(state / "logs")
        found.compose("down", "--volumes", "--remove-orphans")
        leftovers = {
            kind: found.docker(
                kind, "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"
            ).split()
            for kind in ("container", "network", "volume")
        }
        found.docker("container", "prune", "-f")
        if not engine_was_running:
            docker_engine.stop()
        links_after, rules_after = _network_state()
        FIGURES["total_s"] = round(time.monotonic() - started, 1)
        assert leftovers == {"container": [], "network": [], "volume": []}
        assert links_after <= links_before | (set() if not engine_was_running else links_after)
        assert rules_after == rules_before


@pytest.fixture(scope="session")
def figures() -> dict[str, Any]:
    """Measurements the tests report (printed at the end, written to .state/docker)."""
    return FIGURES


@pytest.fixture(scope="session")
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as found:
        yield found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    text = json.dumps(FIGURES, indent=2, sort_keys=True)
    (docker_engine.state()).mkdir(parents=True, exist_ok=True)
    (docker_engine.state() / "figures.json").write_text(text + "\n")
    terminalreporter.write_sep("-", "compose figures (also in .state/docker/figures.json)")
    terminalreporter.write_line(text)

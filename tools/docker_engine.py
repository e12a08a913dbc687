"""A Docker engine private to this checkout, for machines that run none: `dockerd` as root.

    python -m tools.docker_engine start   # prints the DOCKER_HOST to use
    python -m tools.docker_engine stop

Everything lives in .state/docker (images, containers, volumes, the socket). The engine touches
neither the host's iptables nor its forwarding, and has no default bridge: containers reach only
the networks Compose creates, and the host reaches a container only through a port it publishes
(on 127.0.0.1). Debian's docker.io, docker-compose and debootstrap packages provide the tools;
`ensure_packages()` installs them as root.

Standard library only, like tools.infra.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools import infra

APT_PACKAGES = {
    "dockerd": "docker.io",
    "docker-compose": "docker-compose",
    "debootstrap": "debootstrap",
}
# The client of Debian's docker.io, the same release as its dockerd: its `docker build` uses the
# engine's own BuildKit. A newer client elsewhere on PATH may need the buildx plugin for that.
PACKAGED_CLIENT = Path("/usr/bin/docker")


def state() -> Path:
    """Where the private engine keeps everything."""
    return infra.state_root() / "docker"


def socket_url() -> str:
    """The DOCKER_HOST of the private engine."""
    return f"unix://{state() / 'docker.sock'}"


def client() -> str:
    """The docker command to use: Debian's when installed, else whichever is on PATH."""
    if PACKAGED_CLIENT.exists():
        return str(PACKAGED_CLIENT)
    found = shutil.which("docker")
    if found is None:
        raise SystemExit("no docker client: install docker.io (apt-get install docker.io)")
    return found


def answers(host: str | None) -> bool:
    """Whether an engine answers at `host` (None: the client's default)."""
    env = dict(os.environ)
    if host is not None:
        env["DOCKER_HOST"] = host
    elif "DOCKER_HOST" in env:
        del env["DOCKER_HOST"]
    try:
        done = subprocess.run(
            [client(), "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            env=env,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired, SystemExit):
        return False
    return done.returncode == 0


def ensure_packages() -> None:
    """Install dockerd, docker-compose and debootstrap from Debian's packages when missing."""
    missing = [package for tool, package in APT_PACKAGES.items() if shutil.which(tool) is None]
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        raise SystemExit(f"missing {', '.join(missing)}; as root: {' '.join(command)}")
    infra.say(f"installing {', '.join(missing)} (Debian packages)")
    subprocess.run(["apt-get", "update", "-q"], check=True)
    subprocess.run(command, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _pid() -> int | None:
    pidfile = state() / "dockerd.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start() -> str:
    """Start the private engine unless it runs; return its DOCKER_HOST."""
    url = socket_url()
    if _pid() is not None and answers(url):
        return url
    if os.geteuid() != 0:
        raise SystemExit("the private engine runs dockerd, which needs root")
    ensure_packages()
    root = state()
    root.mkdir(parents=True, exist_ok=True)
    command = [
        "dockerd",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--host={url}",
        f"--pidfile={root / 'dockerd.pid'}",
        # No rule in the host's iptables, no forwarding, no docker0: nothing routes off here.
        "--iptables=false",
        "--ip-forward=false",
        "--bridge=none",
    ]
    with (root / "dockerd.log").open("ab") as log:
        subprocess.Popen(
            command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
    infra.wait_for("the private Docker engine", lambda: answers(url), timeout=60)
    infra.say(f"private Docker engine at {url} (log: {root / 'dockerd.log'})")
    return url


def stop(timeout: float = 60.0) -> None:
    """Stop the private engine (it stops its containers first) and wait until it is gone."""
    pid = _pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid() is None:
            infra.say("private Docker engine stopped")
            return
        time.sleep(0.2)
    raise SystemExit(f"dockerd (pid {pid}) did not stop within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    if args.action == "start":
        sys.stdout.write(start() + "\n")
    elif args.action == "stop":
        stop()
    else:
        running = _pid() is not None and answers(socket_url())
        sys.stdout.write(f"{socket_url()} {'running' if running else 'stopped'}\n")
        return 0 if running else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

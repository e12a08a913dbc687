"""The suite under Docker Compose: images built, brought up, waited for, taken down.

    python -m tools.compose up      # what `make up` runs
    python -m tools.compose down    # what `make down` runs
    python -m tools.compose build   # only the images

Plain, on a machine with Docker: `docker compose up -d --build --wait` as before. With
SUITE_PRIVATE_DOCKER=1 it starts the private engine of tools.docker_engine when no engine answers,
and, since no registry answers there, builds stand-ins for the images it cannot pull: a Debian 12
base made by debootstrap (tests/compose/images builds Python, PostgreSQL, RabbitMQ and Redis on
it from Debian's packages) and a Debian unstable base with nginx >= 1.27.3 for the gateway. The
project's Dockerfiles and docker-compose.yml stay the ones users run: only the base and
infrastructure images change, through the SUITE_*_IMAGE variables the compose file reads.

Either Compose works: `docker compose` (v2) when present, else Debian's docker-compose 1.29,
which has no --wait, so this waits for health itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools import docker_engine
from tools.services import SERVICE_NAMES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
IMAGES = ROOT / "tests" / "compose" / "images"
PROJECT = "suite"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# (tag, suite, extra packages): base file systems made by debootstrap and loaded with `import`.
BASES = {
    "debian": ("suite-test/debian:bookworm", "bookworm", ()),
    # Debian 12's nginx (1.22) and 13's (1.26) predate `resolve` in upstream blocks (1.27.3).
    "nginx": ("suite-test/nginx:sid", "sid", ("nginx", "wget")),
}
NGINX_MINIMUM = (1, 27, 3)
# Compose variable -> (stand-in tag, its folder under tests/compose/images, or None for a base).
STAND_INS: dict[str, tuple[str, str | None]] = {
    "SUITE_PYTHON_IMAGE": ("suite-test/python:3.11", "python"),
    "SUITE_POSTGRES_IMAGE": ("suite-test/postgres:15", "postgres"),
    "SUITE_RABBITMQ_IMAGE": ("suite-test/rabbitmq:3", "rabbitmq"),
    "SUITE_REDIS_IMAGE": ("suite-test/redis:7", "redis"),
    "SUITE_NGINX_IMAGE": (BASES["nginx"][0], None),
}


def say(message: str) -> None:
    print(f"[compose] {message}", file=sys.stderr, flush=True)


def run(
    command: Sequence[str], env: Mapping[str, str], *, check: bool = True, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a docker or compose command with `env`; output goes to the terminal unless quiet."""
    return subprocess.run(
        list(command),
        env=dict(env),
        cwd=ROOT,
        check=check,
        text=True,
        capture_output=quiet,
    )


def compose_command(env: Mapping[str, str]) -> list[str]:
    """`docker compose` when the v2 plugin answers, else docker-compose (1.29)."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = run([docker, "compose", "version"], env, check=False, quiet=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is None:
        raise SystemExit("neither `docker compose` nor docker-compose is installed")
    return [legacy]


def _image_exists(tag: str, env: Mapping[str, str]) -> bool:
    done = run([docker_engine.client(), "image", "inspect", tag], env, check=False, quiet=True)
    return done.returncode == 0


def _nginx_version(rootfs: Path) -> tuple[int, ...]:
    done = subprocess.run(
        ["chroot", str(rootfs), "nginx", "-v"],
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(int(part) for part in done.stderr.strip().rsplit("/", 1)[1].split("."))


def build_base(name: str, env: Mapping[str, str]) -> float:
    """debootstrap a minimal Debian root file system and `docker import` it, once; seconds."""
    tag, suite, packages = BASES[name]
    if _image_exists(tag, env):
        return 0.0
    cache = docker_engine.state() / "rootfs"
    cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        rootfs = Path(scratch) / suite
        command = ["debootstrap", "--variant=minbase"]
        if packages:
            command.append(f"--include={','.join(packages)}")
        say(f"debootstrap {suite} for {tag}")
        subprocess.run([*command, suite, str(rootfs), DEBIAN_MIRROR], check=True)
        if name == "nginx" and _nginx_version(rootfs) < NGINX_MINIMUM:
            raise SystemExit(f"Debian {suite}'s nginx is older than 1.27.3")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            [docker_engine.client(), "import", "-", tag],
            stdin=tar.stdout,
            env=dict(env),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if tar.wait() != 0:
            raise SystemExit(f"tar of {rootfs} failed")
    seconds = time.monotonic() - started
    say(f"{tag}: debootstrap and import took {seconds:.0f} s")
    return seconds


def _build(
    tag: str, context: Path, env: Mapping[str, str], *, dockerfile: Path | None = None, **args: str
) -> float:
    """`docker build` with the engine's BuildKit, on the host network, the CA bundle a secret."""
    command = [docker_engine.client(), "build", "--network", "host", "-t", tag]
    ca_bundle = ca_bundle_path()
    if ca_bundle is not None:
        # A secret, not a file in the context or a build argument: mounted only in the RUN
        # steps that ask for it, it stays in no layer and in no history entry.
        command += ["--secret", f"id=ca-certificates,src={ca_bundle}"]
    if dockerfile is not None:
        command += ["-f", str(dockerfile)]
    for key, value in args.items():
        command += ["--build-arg", f"{key}={value}"]
    started = time.monotonic()
    done = run([*command, str(context)], {**env, "DOCKER_BUILDKIT": "1"}, check=False, quiet=True)
    if done.returncode != 0:
        raise SystemExit(f"building {tag} failed:\n{done.stderr[-3000:]}")
    seconds = time.monotonic() - started
    say(f"{tag}: built in {seconds:.0f} s")
    return seconds


def ca_bundle_path() -> str | None:
    """The CA bundle pip and apt use on this machine (SUITE_BUILD_CA_BUNDLE overrides)."""
    for candidate in (
        os.environ.get("SUITE_BUILD_CA_BUNDLE"),
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def stand_in_env() -> dict[str, str]:
    """The SUITE_*_IMAGE variables that point docker-compose.yml at the stand-ins."""
    return {variable: tag for variable, (tag, _) in STAND_INS.items()}


def build_stand_ins(env: Mapping[str, str]) -> dict[str, float]:
    """The bases and the infrastructure stand-ins (tests only); seconds per image built."""
    took = {BASES[name][0]: build_base(name, env) for name in BASES}
    for tag, folder in STAND_INS.values():
        if folder is not None and not _image_exists(tag, env):
            took[tag] = _build(tag, IMAGES / folder, env, BASE=BASES["debian"][0])
    return {tag: round(seconds, 1) for tag, seconds in took.items() if seconds}


def build_suite(env: Mapping[str, str]) -> dict[str, float]:
    """The four service images and the gateway, tagged as compose names them; seconds each."""
    tag = env.get("SUITE_TAG", "dev")
    python_image = env.get("SUITE_PYTHON_IMAGE", "python:3.11-slim-bookworm")
    took = {}
    for service in SERVICE_NAMES:
        took[service] = _build(
            f"suite/{service}:{tag}",
            ROOT,
            env,
            dockerfile=ROOT / "deploy" / "docker" / "service.Dockerfile",
            SERVICE=service,
            PYTHON_IMAGE=python_image,
        )
    nginx_image = env.get("SUITE_NGINX_IMAGE", "nginxinc/nginx-unprivileged:1.28.0-alpine")
    took["gateway"] = _build(
        f"suite/gateway:{tag}",
        ROOT,
        env,
        dockerfile=ROOT / "deploy" / "docker" / "gateway.Dockerfile",
        NGINX_IMAGE=nginx_image,
    )
    return {name: round(seconds, 1) for name, seconds in took.items()}


def containers(project: str, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """`docker inspect` of every container of the project, stopped ones included."""
    ids = run(
        [
            docker_engine.client(),
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project={project}",
        ],
        env,
        quiet=True,
    ).stdout.split()
    if not ids:
        return []
    found = run([docker_engine.client(), "inspect", *ids], env, check=False, quiet=True)
    return list(json.loads(found.stdout or "[]"))


def _pending(project: str, env: Mapping[str, str]) -> list[str]:
    """What is not yet healthy, or exited 0 for a one-shot; fails on a one-shot that failed."""
    waiting = []
    for container in containers(project, env):
        name = str(container["Name"]).lstrip("/")
        status = container["State"]
        if status["Status"] == "exited":
            if status["ExitCode"] != 0:
                raise SystemExit(f"{name} exited with {status['ExitCode']}")
            continue
        health = status.get("Health", {}).get("Status")
        if status["Status"] != "running" or health not in (None, "healthy"):
            waiting.append(f"{name} ({health or status['Status']})")
    return waiting


def wait_healthy(project: str, env: Mapping[str, str], timeout: float = 300.0) -> float:
    """Wait until every container is healthy and every one-shot exited 0; return the seconds."""
    started = time.monotonic()
    pending: list[str] = ["(no container yet)"]
    while time.monotonic() - started < timeout:
        if containers(project, env):
            pending = _pending(project, env)
            if not pending:
                return time.monotonic() - started
        time.sleep(1)
    raise SystemExit(f"not healthy within {timeout:.0f} s: {', '.join(pending)}")


def engine_env(*, private: bool) -> dict[str, str]:
    """The environment for docker and compose: the private engine's when asked for."""
    env = dict(os.environ)
    if private and not docker_engine.answers(env.get("DOCKER_HOST")):
        env["DOCKER_HOST"] = docker_engine.start()
    return env


def up(*, private: bool) -> None:
    env = engine_env(private=private)
    subprocess.run([sys.executable, "-m", "deploy.make_secrets", "compose"], check=True, cwd=ROOT)
    tool = compose_command(env)
    compose = [*tool, "-p", PROJECT, "-f", str(COMPOSE_FILE)]
    if not private and tool[-1] == "compose":
        # Compose v2 on a machine with Docker: as before, it builds and waits itself.
        run([*compose, "up", "-d", "--build", "--wait"], env)
        return
    if private:
        env = {**stand_in_env(), **env}
        build_stand_ins(env)
    build_suite(env)
    run([*compose, "up", "-d", "--no-build"], env)
    seconds = wait_healthy(PROJECT, env)
    port = env.get("SUITE_GATEWAY_PORT", "8080")
    say(f"healthy after {seconds:.0f} s: http://127.0.0.1:{port}")


def down(*, private: bool, volumes: bool = False) -> None:
    env = dict(os.environ)
    if private:
        if not docker_engine.answers(docker_engine.socket_url()):
            return
        env["DOCKER_HOST"] = docker_engine.socket_url()
    compose = [*compose_command(env), "-p", PROJECT, "-f", str(COMPOSE_FILE)]
    run([*compose, "down", "--remove-orphans", *(["--volumes"] if volumes else [])], env)
    if private:
        docker_engine.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "build"])
    parser.add_argument("--volumes", action="store_true", help="down: delete the volumes too")
    args = parser.parse_args(argv)
    private = os.environ.get("SUITE_PRIVATE_DOCKER") == "1"
    if args.action == "up":
        up(private=private)
    elif args.action == "down":
        # The private engine, whenever it runs: `make down` stops what `make up` started.
        private = private or docker_engine.answers(docker_engine.socket_url())
        down(private=private, volumes=args.volumes)
    else:
        env = engine_env(private=private)
        if private:
            env = {**stand_in_env(), **env}
            build_stand_ins(env)
        build_suite(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Dockerfiles: hadolint-clean, and built the way issue 5 asks.

`make test` needs no Docker engine, so here the images are linted, not built (`make test-compose`
builds and runs them, tests/compose). What can run without one does: the entrypoint script (with a
stand-in python), and the builder stage's dependency steps, replayed with the same files and the
same `uv sync` commands in a scratch folder.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tools.services import SERVICE_NAMES, SERVICES

ROOT = Path(__file__).resolve().parents[2]
SERVICE_DOCKERFILE = ROOT / "deploy" / "docker" / "service.Dockerfile"
GATEWAY_DOCKERFILE = ROOT / "deploy" / "docker" / "gateway.Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "service-entrypoint.sh"
# The compose tests' stand-ins for the infrastructure images are linted like the real ones.
STAND_INS = ROOT / "tests" / "compose" / "images"
SHELL_SCRIPTS = (
    ENTRYPOINT,
    ROOT / "deploy" / "compose" / "postgres-init.sh",
    *sorted(STAND_INS.glob("*/entrypoint.sh")),
)

Instruction = tuple[str, str]  # (INSTRUCTION, arguments)


def parse(dockerfile: Path) -> list[list[Instruction]]:
    """The Dockerfile's stages, each a list of instructions (continuations joined)."""
    stages: list[list[Instruction]] = []
    logical = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, arguments = logical.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), arguments.strip()))
        logical = ""
    return stages


def arguments(stage: list[Instruction], keyword: str) -> list[str]:
    return [args for kw, args in stage if kw == keyword]


def base_image_default(dockerfile: Path, name: str) -> str:
    """The default of a global ARG (before the first FROM) that names a base image."""
    match = re.search(rf"^ARG {name}=(\S+)$", dockerfile.read_text(), re.M)
    assert match, f"{dockerfile.name} has no ARG {name}=<default>"
    return match[1]


@pytest.mark.parametrize(
    "dockerfile",
    [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE, *sorted(STAND_INS.glob("*/Dockerfile"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_hadolint_finds_nothing(find_tool: Callable[[str], str], dockerfile: Path) -> None:
    result = subprocess.run(
        [find_tool("hadolint"), "--no-color", "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_hadolint_really_lints(find_tool: Callable[[str], str], tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y gcc\nCMD python app.py\n")
    result = subprocess.run(
        [find_tool("hadolint"), "--no-color", "--format", "json", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3025"} <= codes
    assert result.returncode != 0


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_scripts_pass_shellcheck(find_tool: Callable[[str], str], script: Path) -> None:
    result = subprocess.run(
        [find_tool("shellcheck"), "--severity=style", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_service_image_is_multi_stage_from_the_lock_file() -> None:
    builder, runtime = parse(SERVICE_DOCKERFILE)
    # The official image unless a build argument names another (the compose tests' stand-in).
    assert base_image_default(SERVICE_DOCKERFILE, "PYTHON_IMAGE") == "python:3.11-slim-bookworm"
    assert arguments(builder, "FROM") == ["${PYTHON_IMAGE} AS builder"]
    assert arguments(runtime, "FROM") == ["${PYTHON_IMAGE} AS runtime"]
    runs = arguments(builder, "RUN")
    syncs = [run for run in runs if "uv sync" in run]
    assert len(syncs) == 2
    for sync in syncs:
        assert (
            "--frozen" in sync and "--no-dev" in sync and '--package "${SERVICE}-service"' in sync
        )
    # Dependencies in their own layer, before any source is copied.
    assert "--no-install-workspace" in syncs[0]
    order = [
        args
        for keyword, args in builder
        if keyword == "COPY" or (keyword == "RUN" and "uv sync" in args)
    ]
    first_sync = order.index(next(a for a in order if "uv sync" in a))
    sources_before = [source for args in order[:first_sync] for source in args.split()[:-1]]
    assert "uv.lock" in sources_before
    assert all(source.endswith(("pyproject.toml", "uv.lock")) for source in sources_before)
    # uv reads the whole workspace from the lock: every member's pyproject.toml must be there.
    members = {"shared/pyproject.toml", *(f"services/{s}/pyproject.toml" for s in SERVICE_NAMES)}
    assert members <= set(sources_before)
    assert order[first_sync + 1 : first_sync + 3] == [
        "shared/ shared/",
        "services/${SERVICE}/ services/${SERVICE}/",
    ]


def test_service_image_runs_as_a_non_root_user_with_no_build_tools_or_secrets() -> None:
    builder, runtime = parse(SERVICE_DOCKERFILE)
    (user,) = arguments(runtime, "USER")
    uid, _, gid = user.partition(":")
    assert int(uid) > 0 and int(gid) > 0  # numeric, so Kubernetes can check runAsNonRoot
    # Only the virtualenv and sources come from the builder; nothing is installed at run time.
    from_builder = [a for a in arguments(runtime, "COPY") if a.startswith("--from=")]
    assert from_builder == ["--from=builder /app /app"]
    runtime_runs = " ".join(arguments(runtime, "RUN"))
    for tool in ("apt-get", "pip ", "uv ", "gcc", "build-essential"):
        assert tool not in runtime_runs, tool
    for stage in (builder, runtime):
        for keyword in ("ARG", "ENV"):
            for args in arguments(stage, keyword):
                assert not re.search(r"PASSWORD|SECRET|TOKEN|PRIVATE", args, re.I), args


def test_service_image_is_healthchecked_and_started_in_exec_form() -> None:
    _, runtime = parse(SERVICE_DOCKERFILE)
    (healthcheck,) = arguments(runtime, "HEALTHCHECK")
    command = json.loads(healthcheck.partition("CMD ")[2])
    assert command[0] == "python" and "/health/liveness" in command[-1]
    # JSON (exec) form: no shell between Docker and the process that must get SIGTERM.
    (entrypoint,) = arguments(runtime, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["/usr/local/bin/service-entrypoint"]
    (cmd,) = arguments(runtime, "CMD")
    assert json.loads(cmd) == ["api", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    assert arguments(runtime, "STOPSIGNAL") == ["SIGTERM"]
    assert arguments(runtime, "EXPOSE") == ["8000"]
    assert "exec python -m" in ENTRYPOINT.read_text()


def test_gateway_image_ships_the_rendered_compose_config() -> None:
    (stage,) = parse(GATEWAY_DOCKERFILE)
    assert arguments(stage, "FROM") == ["${NGINX_IMAGE}"]
    image = base_image_default(GATEWAY_DOCKERFILE, "NGINX_IMAGE")
    assert image.startswith("nginxinc/nginx-unprivileged:") and not image.endswith(":latest")
    # `resolve` in upstream blocks, which the compose config uses, came in nginx 1.27.3.
    version = tuple(int(part) for part in image.split(":")[1].split("-")[0].split("."))
    assert version >= (1, 27, 3), image
    assert arguments(stage, "COPY") == [
        "deploy/gateway/nginx.compose.conf /etc/nginx/nginx.conf",
        "deploy/gateway/openapi.json /etc/nginx/openapi.json",
    ]
    assert arguments(stage, "USER") == ["101"]
    assert arguments(stage, "STOPSIGNAL") == ["SIGQUIT"]  # nginx's graceful stop
    (healthcheck,) = arguments(stage, "HEALTHCHECK")
    assert "/healthz" in healthcheck
    (entrypoint,) = arguments(stage, "ENTRYPOINT")
    assert json.loads(entrypoint)[0] == "nginx"
    (cmd,) = arguments(stage, "CMD")
    assert json.loads(cmd) == ["-c", "/etc/nginx/nginx.conf"]


def test_rendered_gateway_configs_are_up_to_date() -> None:
    """deploy.render_gateway writes them from gateway/nginx/nginx.conf.j2."""
    result = subprocess.run(
        [sys.executable, "-m", "deploy.render_gateway", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_dockerignore_lets_in_only_what_the_images_copy() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "uv.lock",
        "shared/",
        "services/",
        "deploy/docker/",
        "deploy/gateway/",
    }
    for excluded in ("**/tests/", "**/__pycache__/", "**/.venv/", "**/*.pem", "**/.env"):
        assert excluded in lines, excluded
    # Where make_secrets.py writes is never let in.
    for secrets_dir in ("deploy/compose/secrets", "deploy/k8s/overlays/dev/secrets", ".state"):
        assert not any(secrets_dir.startswith(prefix.rstrip("/")) for prefix in allowed)
    # And everything the Dockerfiles copy from the context is.
    for dockerfile in (SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE):
        for stage in parse(dockerfile):
            for args in arguments(stage, "COPY"):
                words = [w for w in args.split() if not w.startswith("--")]
                if args.startswith("--from="):
                    continue
                for source in words[:-1]:
                    assert any(source.startswith(a.rstrip("/")) for a in allowed), source


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A `python` that prints what it was started with, in place of the image's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "python"
    script.write_text(
        "#!/bin/sh\n"
        'echo "pid=$$ args=$*"\n'
        "env | grep -E '^(AUTH_|USERS_|PGPASSWORD|SSL_CERT)' | sort\n"
    )
    script.chmod(0o755)
    return bin_dir


def run_entrypoint(fake_python: Path, env: dict[str, str], *args: str) -> str:
    shell = shutil.which("dash") or "/bin/sh"  # Debian's /bin/sh, as in the image
    result = subprocess.run(
        [shell, "-c", 'echo "shell=$$"; exec "$0" "$@"', str(ENTRYPOINT), *args],
        env={"PATH": f"{fake_python}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_entrypoint_execs_the_service_module_as_the_same_process(fake_python: Path) -> None:
    out = run_entrypoint(fake_python, {"SERVICE_MODULE": "auth_service"}, "migrate")
    shell_pid = re.search(r"shell=(\d+)", out)
    python_pid = re.search(r"pid=(\d+) args=-m auth_service migrate", out)
    assert shell_pid and python_pid, out
    # exec all the way: python is the process Docker started, so it gets SIGTERM itself.
    assert shell_pid[1] == python_pid[1]


def test_entrypoint_reads_file_variables_of_its_own_service_only(
    fake_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "url").write_text("amqp://suite:secret@rabbitmq:5672/\n")
    (tmp_path / "pw").write_text("db-secret\n")
    out = run_entrypoint(
        fake_python,
        {
            "SERVICE_MODULE": "auth_service",
            "AUTH_AMQP_URL_FILE": str(tmp_path / "url"),
            "PGPASSWORD_FILE": str(tmp_path / "pw"),
            "USERS_AMQP_URL_FILE": str(tmp_path / "url"),
            "SSL_CERT_FILE": str(tmp_path / "pw"),
        },
        "api",
    )
    lines = set(out.splitlines())
    assert "AUTH_AMQP_URL=amqp://suite:secret@rabbitmq:5672/" in lines
    assert "PGPASSWORD=db-secret" in lines
    assert not any(line.startswith("AUTH_AMQP_URL_FILE=") for line in lines)
    # Another service's variables and other *_FILE paths are left as they are.
    assert f"SSL_CERT_FILE={tmp_path / 'pw'}" in lines
    assert not any(line.startswith(("USERS_AMQP_URL=", "SSL_CERT=")) for line in lines)


def test_entrypoint_fails_on_a_missing_secret_file(fake_python: Path, tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        run_entrypoint(
            fake_python,
            {"SERVICE_MODULE": "auth_service", "PGPASSWORD_FILE": str(tmp_path / "absent")},
            "api",
        )


def builder_steps() -> tuple[dict[str, str], list[tuple[list[str], str]], list[str]]:
    """The builder stage as data: ENV, the COPY steps (sources, destination), the uv commands."""
    builder = parse(SERVICE_DOCKERFILE)[0]
    env: dict[str, str] = {}
    for args in arguments(builder, "ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    copies = []
    for args in arguments(builder, "COPY"):
        *sources, destination = args.split()
        copies.append((sources, destination))
    commands = []
    for args in arguments(builder, "RUN"):
        if "uv sync" in args:
            command = re.sub(r"--mount=\S+\s*", "", args)
            # The step may first export the CA bundle's path (a build secret) for uv.
            commands.append(
                next(p.strip() for p in command.split("&&") if p.strip().startswith("uv sync"))
            )
    return env, copies, commands


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_builder_installs_each_service_from_the_lock_alone(
    find_tool: Callable[[str], str], tmp_path: Path, service: str
) -> None:
    """Replays the builder's COPY and `uv sync` steps (dependencies, then code) in a scratch /app."""
    app = tmp_path / "app"
    app.mkdir()
    env, copies, commands = builder_steps()
    assert len(commands) == 2
    venv = app / ".venv"
    run_env = {
        **os.environ,
        **{k: v.replace("/app", str(app)) for k, v in env.items() if k.startswith("UV_")},
        "SERVICE": service,
        # Compiling bytecode and copying files matter in the image, not to what is checked here.
        "UV_COMPILE_BYTECODE": "0",
        "UV_LINK_MODE": "symlink",
    }
    run_env.pop("VIRTUAL_ENV", None)
    assert run_env["UV_PROJECT_ENVIRONMENT"] == str(venv)

    def copy(sources: list[str], destination: str) -> None:
        for source in sources:
            src = ROOT / source.replace("${SERVICE}", service).rstrip("/")
            dst = app / destination.replace("${SERVICE}", service)
            if src.is_dir():
                shutil.copytree(
                    src,
                    dst,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("tests", "__pycache__"),
                )
            else:
                dst.mkdir(parents=True, exist_ok=True) if destination.endswith("/") else None
                shutil.copy2(src, dst if destination != "./" else app)

    def sync(command: str) -> None:
        argv = [find_tool("uv") if word == "uv" else word for word in shlex.split(command)]
        argv = [word.replace("${SERVICE}", service) for word in argv]
        result = subprocess.run(
            argv, cwd=app, env=run_env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, result.stderr[-3000:]

    code_copies = [
        c for c in copies if not any(s.endswith(("pyproject.toml", "uv.lock")) for s in c[0])
    ]
    for sources, destination in copies:
        if (sources, destination) not in code_copies:
            copy(sources, destination)
    sync(commands[0])  # dependencies only, from the lock file
    python = venv / "bin" / "python"
    deps_only = (
        "import importlib.util as u; assert u.find_spec('fastapi') and u.find_spec('alembic')"
    )
    assert subprocess.run([python, "-c", deps_only], check=False).returncode == 0
    for sources, destination in code_copies:
        copy(sources, destination)
    sync(commands[1])  # the workspace members, editable
    # Importing the service is `make lint`'s job (each member alone in its own venv); here the
    # layout: the member is installed editable from /app, so main.py's parents[2] / "migrations"
    # is the service's migrations folder, and nothing of the dev group or other services is in.
    probe = (
        "import importlib.util as u, pathlib, sys; "
        f"spec = u.find_spec('{service}_service.main'); "
        "main = pathlib.Path(spec.origin); "
        "print(main.parents[2]); "
        "sys.exit(any(u.find_spec(m) for m in sys.argv[1:]))"
    )
    absent = ["pytest", "ruff", "mypy", "moto", *(s.package for s in SERVICES if s.name != service)]
    result = subprocess.run(
        [python, "-c", probe, *absent], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    service_dir = Path(result.stdout.strip())
    assert service_dir == app / "services" / service
    assert (service_dir / "migrations" / "env.py").is_file()


def test_make_secrets_never_shadows_the_standard_library(make_secrets: ModuleType) -> None:
    """Named so that it never shadows the standard library's `secrets`."""
    assert Path(str(make_secrets.__file__)).name != "secrets.py"


@pytest.fixture
def health_server() -> Iterator[tuple[int, dict[str, int]]]:
    """A loopback HTTP server answering each path with the status the test sets."""
    statuses: dict[str, int] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses.get(self.path, 404))
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], statuses
    finally:
        server.shutdown()
        server.server_close()


def healthcheck_commands(compose: dict[str, Any]) -> dict[str, list[str]]:
    """The python healthchecks: the image's (liveness) and compose's (readiness)."""
    _, runtime = parse(SERVICE_DOCKERFILE)
    (healthcheck,) = arguments(runtime, "HEALTHCHECK")
    return {
        "/health/liveness": json.loads(healthcheck.partition("CMD ")[2]),
        "/health/readiness": compose["services"]["auth"]["healthcheck"]["test"][1:],
    }


@pytest.mark.parametrize("path", ["/health/liveness", "/health/readiness"])
def test_python_healthchecks_pass_on_200_and_fail_otherwise(
    compose: dict[str, Any], health_server: tuple[int, dict[str, int]], path: str
) -> None:
    """The same command the container runs, pointed at a stand-in on a free loopback port."""
    port, statuses = health_server
    command = healthcheck_commands(compose)[path]
    assert command[0] == "python" and "127.0.0.1:8000" + path in command[-1]
    command = [sys.executable, *command[1:-1], command[-1].replace(":8000/", f":{port}/")]
    for status, healthy in ((200, True), (503, False), (500, False)):
        statuses[path] = status
        result = subprocess.run(command, capture_output=True, timeout=10, check=False)
        assert (result.returncode == 0) is healthy, (status, result.stderr)

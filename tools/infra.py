"""Local PostgreSQL, Redis and RabbitMQ from the OS packages, in a project-local state folder.

No Docker engine is needed: each server runs as a plain process on a non-default port. As root, the
servers run as an unprivileged user that owns the state folder (PostgreSQL refuses root, and Debian's
rabbitmq-server wrapper would switch users by itself). Servers already running from an earlier call
are reused and left running; `stop()` stops only what this state folder's pid files name.

Standard library only, so it works before the workspace's dependencies are installed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_USER = "suite"
# chromium: a real browser for the tests (README diagrams rendered by the Mermaid CLI).
# prometheus: scrapes the local suite for the dashboard test and SUITE_PROMETHEUS=1 (promtool too).
APT_PACKAGES = [
    "postgresql",
    "redis-server",
    "rabbitmq-server",
    "nginx",
    "wrk",
    "chromium",
    "prometheus",
]
CHROMIUM = "/usr/bin/chromium"
# How the tests run it: as root, headless, and fetching nothing in the background.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
SERVER_LOGS = {
    "postgresql": "pg/postgres.log",
    "redis": "redis/redis.log",
    "rabbitmq": "rabbitmq/rabbitmq.log",
}


@dataclass(frozen=True)
class InfraConfig:
    """Where the servers live and listen; every port overridable by environment."""

    state: Path
    pg_port: int
    redis_port: int
    amqp_port: int
    amqp_dist_port: int
    epmd_port: int
    pg_password: str = "postgres"  # noqa: S105 - local development superuser on 127.0.0.1 only
    amqp_user: str = "suite"
    amqp_password: str = "suite"  # noqa: S105 - local development broker on 127.0.0.1 only

    @classmethod
    def from_env(cls, name: str = "local", port_offset: int = 0) -> InfraConfig:
        """Ports from SUITE_*_PORT (or defaults), shifted by `port_offset` (tests use +1000)."""

        def port(var: str, default: int) -> int:
            return int(os.environ.get(var, default)) + port_offset

        return cls(
            state=state_root() / name,
            pg_port=port("SUITE_PG_PORT", 25432),
            redis_port=port("SUITE_REDIS_PORT", 26379),
            amqp_port=port("SUITE_AMQP_PORT", 25672),
            amqp_dist_port=port("SUITE_AMQP_DIST_PORT", 25682),
            epmd_port=port("SUITE_EPMD_PORT", 24369),
        )

    def log(self, server: str) -> Path:
        """The log file of `server` (postgresql, redis, rabbitmq): where to look when it fails."""
        return self.state / SERVER_LOGS[server]

    @property
    def node_name(self) -> str:
        return f"suite-{self.state.name}@localhost"

    @property
    def pg_admin_dsn(self) -> str:
        return f"postgresql://postgres:{self.pg_password}@127.0.0.1:{self.pg_port}/postgres"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def amqp_url(self) -> str:
        return f"amqp://{self.amqp_user}:{self.amqp_password}@127.0.0.1:{self.amqp_port}/"


def state_root() -> Path:
    return Path(os.environ.get("SUITE_STATE_DIR", ROOT / ".state"))


def say(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- OS packages


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def missing_packages() -> list[str]:
    """Debian packages whose binaries are not on this machine."""
    checks = {
        "postgresql": pg_bindir() is not None,
        "redis-server": Path("/usr/bin/redis-server").exists(),
        "rabbitmq-server": Path(RABBITMQ_SERVER).exists(),
        "nginx": Path("/usr/sbin/nginx").exists(),
        "wrk": Path("/usr/bin/wrk").exists(),
        "chromium": Path(CHROMIUM).exists(),
        "prometheus": Path(PROMETHEUS).exists() and Path(PROMTOOL).exists(),
    }
    return [package for package in APT_PACKAGES if not checks[package]]


def ensure_packages() -> None:
    """Install the servers from Debian when root; otherwise print the exact command and stop."""
    missing = missing_packages()
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        say("missing OS packages; run this once, then try again:")
        say(f"  sudo apt-get update && sudo {' '.join(command)}")
        raise SystemExit(2)
    log = state_root() / "apt-get.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"installing {' '.join(missing)} from Debian (a minute or two; output in {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # policy-rc.d 101 keeps the packages' own system services from starting on default ports.
    policy = Path("/usr/sbin/policy-rc.d")
    created_policy = not policy.exists()
    if created_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        with log.open("wb") as out:
            for step in (["apt-get", "update", "-qq"], command):
                if subprocess.run(step, env=env, stdout=out, stderr=subprocess.STDOUT).returncode:
                    say(f"{' '.join(step[:2])} failed; see {log}")
                    raise SystemExit(1)
    finally:
        if created_policy:
            policy.unlink()
    say("OS packages installed")


# ---------------------------------------------------------------- process helpers


def _run_as() -> tuple[int, int] | None:
    """The uid/gid servers run as: the caller, or an unprivileged user when the caller is root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(RUN_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_USER],
            check=True,
        )
        entry = pwd.getpwnam(RUN_USER)
    return entry.pw_uid, entry.pw_gid


def _prepare_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if (ids := _run_as()) is not None:
        for directory in [path, *path.parents]:
            if directory == ROOT or directory == Path("/"):
                break
            os.chown(directory, *ids)
        # Parents of the state folder must be traversable by the server user.
        for parent in path.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)


def _spawn(
    argv: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    ids = _run_as()
    with log.open("ab") as out:
        if ids is not None:
            os.chown(log, *ids)  # nginx reopens /dev/stdout by path, as the server user
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # Ctrl-C in the terminal reaches the supervisor, not the servers
            user=ids[0] if ids else None,
            group=ids[1] if ids else None,
            extra_groups=[] if ids else None,
        )


def _check(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    ids = _run_as()
    return subprocess.run(
        argv,
        check=True,
        capture_output=True,
        env=env,
        cwd=cwd,
        user=ids[0] if ids else None,
        group=ids[1] if ids else None,
        extra_groups=[] if ids else None,
    )


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(what: str, ready: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


def _alive(pidfile: Path) -> int | None:
    """The pid in `pidfile` if that process still runs (an exited child of ours is reaped)."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None
    return None if state in ("Z", "X") else pid


# ---------------------------------------------------------------- servers


def start_postgres(cfg: InfraConfig) -> None:
    bindir = pg_bindir()
    assert bindir is not None
    data = cfg.state / "pg" / "data"
    run_dir = cfg.state / "run"
    _prepare_dir(run_dir)
    if not (data / "PG_VERSION").exists():
        say(f"creating the postgresql cluster in {data}")
        _prepare_dir(data.parent)
        pwfile = cfg.state / "pg" / "pwfile"
        pwfile.write_text(cfg.pg_password + "\n")
        if (ids := _run_as()) is not None:
            os.chown(pwfile, *ids)
        _check(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        pwfile.unlink()
    if _alive(data / "postmaster.pid") and port_open(cfg.pg_port):
        say(f"postgresql already running on :{cfg.pg_port}")
        return
    options = (
        f"-p {cfg.pg_port} -c listen_addresses=127.0.0.1 -k {run_dir} "
        "-c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        if os.environ.get("SUITE_PG_DURABLE", "0") != "1"
        else f"-p {cfg.pg_port} -c listen_addresses=127.0.0.1 -k {run_dir} -c max_connections=300"
    )
    _check(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(cfg.log("postgresql")),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    say(f"postgresql started on :{cfg.pg_port}")


def stop_postgres(cfg: InfraConfig) -> None:
    bindir = pg_bindir()
    data = cfg.state / "pg" / "data"
    if bindir and _alive(data / "postmaster.pid"):
        _check([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        say("postgresql stopped")


def start_redis(cfg: InfraConfig) -> None:
    home = cfg.state / "redis"
    _prepare_dir(home)
    pidfile = home / "redis.pid"
    if _alive(pidfile) and port_open(cfg.redis_port):
        say(f"redis already running on :{cfg.redis_port}")
        return
    _spawn(
        [
            "/usr/bin/redis-server",
            "--port",
            str(cfg.redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(home),
            "--pidfile",
            str(pidfile),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        log=cfg.log("redis"),
    )
    wait_for("redis", lambda: port_open(cfg.redis_port), timeout=20)
    say(f"redis started on :{cfg.redis_port}")


def stop_redis(cfg: InfraConfig) -> None:
    if pid := _alive(cfg.state / "redis" / "redis.pid"):
        os.kill(pid, signal.SIGTERM)
        wait_for("redis to stop", lambda: not port_open(cfg.redis_port), timeout=20)
        say("redis stopped")


def _rabbit_env(cfg: InfraConfig) -> dict[str, str]:
    home = cfg.state / "rabbitmq"
    return {
        "PATH": "/usr/lib/rabbitmq/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "RABBITMQ_NODENAME": cfg.node_name,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(cfg.amqp_port),
        "RABBITMQ_DIST_PORT": str(cfg.amqp_dist_port),
        "ERL_EPMD_PORT": str(cfg.epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_CONF_ENV_FILE": str(home / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
        "RABBITMQ_LOGS": "-",
    }


def start_rabbitmq(cfg: InfraConfig) -> None:
    home = cfg.state / "rabbitmq"
    _prepare_dir(home)
    pidfile = home / "supervisor.pid"
    if _alive(pidfile) and port_open(cfg.amqp_port):
        say(f"rabbitmq already running on :{cfg.amqp_port}")
        return
    (home / "rabbitmq-env.conf").write_text("")
    (home / "enabled_plugins").write_text("[].\n")
    (home / "rabbitmq.conf").write_text(
        "\n".join(
            [
                f"listeners.tcp.default = 127.0.0.1:{cfg.amqp_port}",
                f"default_user = {cfg.amqp_user}",
                f"default_pass = {cfg.amqp_password}",
                "loopback_users = none",
                "vm_memory_high_watermark.relative = 0.2",
                "disk_free_limit.absolute = 200MB",
                "",
            ]
        )
    )
    say("starting rabbitmq")
    process = _spawn([RABBITMQ_SERVER], log=cfg.log("rabbitmq"), env=_rabbit_env(cfg), cwd=home)
    pidfile.write_text(str(process.pid))

    def ready() -> bool:
        if process.poll() is not None:
            tail = cfg.log("rabbitmq").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"rabbitmq exited with {process.returncode}:\n{tail}")
        return port_open(cfg.amqp_port)

    wait_for("rabbitmq", ready, timeout=120)
    say(f"rabbitmq started on :{cfg.amqp_port}")


def stop_rabbitmq(cfg: InfraConfig) -> None:
    home = cfg.state / "rabbitmq"
    if pid := _alive(home / "supervisor.pid"):
        # The server script traps SIGTERM and shuts the node down cleanly.
        os.kill(pid, signal.SIGTERM)
        wait_for("rabbitmq to stop", lambda: _alive(home / "supervisor.pid") is None, timeout=60)
        say("rabbitmq stopped")
    # The Erlang VM started its own epmd on our port; it is ours to stop.
    epmd = shutil.which("epmd") or next(iter(glob.glob("/usr/lib/erlang/erts-*/bin/epmd")), None)
    if epmd and port_open(cfg.epmd_port):
        with contextlib.suppress(subprocess.CalledProcessError):
            _check([epmd, "-port", str(cfg.epmd_port), "-kill"])


def rabbitmqctl(cfg: InfraConfig, *args: str) -> None:
    """Run rabbitmqctl against this state folder's node (as the server user)."""
    _check([RABBITMQCTL, "-q", *args], env=_rabbit_env(cfg), cwd=cfg.state / "rabbitmq")


def queue_depths(cfg: InfraConfig) -> dict[str, int]:
    """Messages ready in each queue of the default vhost (as `rabbitmqctl list_queues` sees them)."""
    argv = [RABBITMQCTL, "-q", "list_queues", "--no-table-headers", "name", "messages_ready"]
    listed = _check(argv, env=_rabbit_env(cfg), cwd=cfg.state / "rabbitmq").stdout.decode()
    return {name: int(count) for name, count in (line.split("\t") for line in listed.splitlines())}


def add_vhost(cfg: InfraConfig, vhost: str) -> str:
    """A fresh virtual host the broker user may use fully; returns the AMQP URL for it."""
    rabbitmqctl(cfg, "add_vhost", vhost)
    rabbitmqctl(cfg, "set_permissions", "-p", vhost, cfg.amqp_user, ".*", ".*", ".*")
    return f"{cfg.amqp_url}{vhost}"


def delete_vhost(cfg: InfraConfig, vhost: str) -> None:
    rabbitmqctl(cfg, "delete_vhost", vhost)


def start(cfg: InfraConfig) -> None:
    """Start PostgreSQL, Redis and RabbitMQ (reusing any already running in this state folder)."""
    ensure_packages()
    _prepare_dir(cfg.state)
    for server, start_server in (
        ("postgresql", start_postgres),
        ("redis", start_redis),
        ("rabbitmq", start_rabbitmq),
    ):
        try:
            start_server(cfg)
        except subprocess.CalledProcessError as error:
            failure = f"{Path(error.cmd[0]).name} exited with {error.returncode}"
        except RuntimeError as error:
            failure = str(error)
        else:
            continue
        raise RuntimeError(f"{server} did not start: {failure}; see {cfg.log(server)}")


def stop(cfg: InfraConfig) -> None:
    """Stop the servers of this state folder, by the PIDs it recorded."""
    stop_rabbitmq(cfg)
    stop_redis(cfg)
    stop_postgres(cfg)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=["packages", "start", "stop", "env"])
    parser.add_argument("--name", default="local", help="state sub-folder (local, test)")
    parser.add_argument("--port-offset", type=int, default=0)
    args = parser.parse_args()
    cfg = InfraConfig.from_env(args.name, args.port_offset)
    if args.action == "packages":
        ensure_packages()
    elif args.action == "start":
        try:
            start(cfg)
        except RuntimeError as error:
            say(str(error))
            raise SystemExit(1) from None
    elif args.action == "stop":
        stop(cfg)
    else:
        print(
            f"PG_ADMIN_DSN={cfg.pg_admin_dsn}\nREDIS_URL={cfg.redis_url}\nAMQP_URL={cfg.amqp_url}"
        )


if __name__ == "__main__":
    main()

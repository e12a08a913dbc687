"""`make run`: the whole suite on this machine, for real, behind nginx on http://127.0.0.1:8080.

Starts PostgreSQL, Redis and RabbitMQ (tools.infra), creates one database and one role per
service, generates a development RSA key pair once, runs every service's migrations, starts
SUITE_REPLICAS replicas of each service and nginx in front, prints the URLs, and stops everything it
started on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gateway.nginx import render
from gateway.openapi import merged_document
from tools import infra, oidc_provider, prometheus
from tools.services import DEFAULT_BASE_PORT, SERVICES, Service

ROOT = infra.ROOT


@dataclass(frozen=True)
class Replica:
    service: Service
    index: int
    port: int

    @property
    def name(self) -> str:
        return f"{self.service.name}-{self.index}"


def say(message: str) -> None:
    print(f"[suite] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Layout:
    """Where one local suite keeps its state and listens.

    `make run` uses `.state/local` and the default ports; the e2e tests start their own suite in
    `.state/e2e` with every port shifted by 1500 (`E2E`; Chromium refuses 10080, so not 2000), so they never reuse or disturb the
    suite a user has running. SUITE_STATE and SUITE_PORT_OFFSET choose another one.
    """

    name: str = "local"
    offset: int = 0

    @classmethod
    def from_env(cls) -> Layout:
        return cls(
            os.environ.get("SUITE_STATE", "local"), int(os.environ.get("SUITE_PORT_OFFSET", 0))
        )

    def env(self) -> dict[str, str]:
        """The variables that make `python -m tools.suite` use this layout."""
        return {"SUITE_STATE": self.name, "SUITE_PORT_OFFSET": str(self.offset)}

    def _port(self, variable: str, default: int) -> int:
        return int(os.environ.get(variable, default)) + self.offset

    @property
    def state(self) -> Path:
        return infra.state_root() / self.name

    @property
    def servers(self) -> infra.InfraConfig:
        return infra.InfraConfig.from_env(self.name, self.offset)

    @property
    def gateway_port(self) -> int:
        return self._port("SUITE_GATEWAY_PORT", 8080)

    @property
    def smtp_port(self) -> int:
        """Where the suite's mail sink listens (auth sends its mail there)."""
        return self._port("SUITE_SMTP_PORT", 8025)

    @property
    def oidc_port(self) -> int | None:
        """With SUITE_OIDC=1 the suite runs a development OpenID provider here."""
        if os.environ.get("SUITE_OIDC") != "1":
            return None
        return self._port("SUITE_OIDC_PORT", 8090)

    @property
    def prometheus_port(self) -> int | None:
        """With SUITE_PROMETHEUS=1 the suite runs a Prometheus scraping it, here."""
        if os.environ.get("SUITE_PROMETHEUS") != "1":
            return None
        return prometheus.default_port() + self.offset

    def replicas(self, count: int) -> list[Replica]:
        base = self._port("SUITE_SERVICE_BASE_PORT", DEFAULT_BASE_PORT)
        return [
            Replica(service, index, service.local_port(index, base))
            for service in SERVICES
            for index in range(1, count + 1)
        ]


E2E = Layout("e2e", 1500)


# The development provider's users (any password works on its login page).
OIDC_ACCOUNTS = {
    "carol": {"email": "carol@example.com", "email_verified": True},
    "dave": {"email": "dave@example.com", "email_verified": False},
}


def oidc_settings(layout: Layout) -> dict[str, str]:
    """Auth's provider "local" (the development one), and the secret it shares with it."""
    port = layout.oidc_port
    if port is None:
        return {}
    secret = layout.state / "oidc-client-secret"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(24))
        secret.chmod(0o600)
    provider = {
        "issuer": f"http://127.0.0.1:{port}",
        "client_id": "suite-local",
        "client_secret_file": str(secret),
    }
    return {"OIDC_PROVIDERS": json.dumps({"local": provider})}


MANIFEST = "suite.json"


def running_suite(gateway_port: int) -> dict[str, Any] | None:
    """What the suite behind `gateway_port` wrote about itself (its replicas, its scrape targets
    file), if a suite of this checkout's state folder is up there."""
    # Newest first: a suite killed without its clean stop leaves its manifest behind.
    manifests = infra.state_root().glob(f"*/{MANIFEST}")
    for manifest in sorted(manifests, key=lambda path: path.stat().st_mtime, reverse=True):
        with contextlib.suppress(OSError, ValueError):
            found: dict[str, Any] = json.loads(manifest.read_text())
            if found.get("gateway_port") == gateway_port:
                return found
    return None


def db_password(service: str) -> str:
    return f"{service}-local-dev"


def create_databases(cfg: infra.InfraConfig) -> None:
    """One role and one database per service; a role can connect only to its own database."""
    env = {**os.environ, "PGPASSWORD": cfg.pg_password}
    psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(cfg.pg_port), "-U", "postgres"]
    for shared_database in ("postgres", "template1"):
        # Service roles have no business in the cluster's own databases either.
        subprocess.run(
            [*psql, "-c", f"REVOKE CONNECT ON DATABASE {shared_database} FROM PUBLIC"],
            env=env,
            check=True,
        )
    for service in (s.name for s in SERVICES):
        exists = subprocess.run(
            [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{service}'"],  # noqa: S608 - constant names
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists:
            continue
        statements = [
            f"CREATE ROLE {service} LOGIN PASSWORD '{db_password(service)}'",
            f"CREATE DATABASE {service} OWNER {service}",
            f"REVOKE ALL ON DATABASE {service} FROM PUBLIC",
        ]
        for statement in statements:
            subprocess.run([*psql, "-c", statement], env=env, check=True)
        say(f"created database and role {service}")


def ensure_keys(cfg: infra.InfraConfig) -> tuple[Path, Path]:
    """A development RSA key pair, generated once; the private key is for auth only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    keys = cfg.state / "keys"
    private, public = keys / "jwt-private.pem", keys / "jwt-public.pem"
    if not private.exists():
        keys.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private.chmod(0o600)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        say(f"generated development key pair in {keys}")
    return private, public


def service_env(
    layout: Layout,
    service: Service,
    public_key: Path,
    private_key: Path,
    signer_ports: list[int] | None = None,
) -> dict[str, str]:
    """The environment a process of `service` runs with: ours plus its prefixed settings."""
    return {
        **os.environ,
        **service_settings(layout, service, public_key, private_key, signer_ports),
    }


def service_settings(
    layout: Layout,
    service: Service,
    public_key: Path,
    private_key: Path,
    signer_ports: list[int] | None = None,
) -> dict[str, str]:
    """The service's settings in the local suite, as prefixed environment variables."""
    name, cfg = service.name, layout.servers
    values = {
        "ENVIRONMENT": "local",
        "DATABASE_URL": f"postgresql://{name}:{db_password(name)}@127.0.0.1:{cfg.pg_port}/{name}",
        "AMQP_URL": cfg.amqp_url,
        "REDIS_URL": cfg.redis_url,
        "JWT_PUBLIC_KEYS": str(public_key),
        "SHUTDOWN_DRAIN_SECONDS": os.environ.get("SUITE_DRAIN_SECONDS", "1"),
    }
    if service.stores_files:
        values["STORAGE_DIR"] = str(cfg.state / name)  # shared by the replicas
    if service.signs_tokens:
        values["JWT_PRIVATE_KEY"] = str(private_key)
        values.update(admin_settings(cfg))
        # Mail goes to the local sink (.state/local/mail/*.eml); links point at the gateway.
        values["SMTP_HOST"] = "127.0.0.1"
        values["SMTP_PORT"] = str(layout.smtp_port)
        values["PUBLIC_URL"] = f"http://127.0.0.1:{layout.gateway_port}"
        values.update(oidc_settings(layout))
    elif signer_ports:
        # Where a starting replica loads the revoked sessions from (then broadcasts keep it current).
        values["REVOCATIONS_URL"] = ",".join(
            f"http://127.0.0.1:{port}/internal/v1/revocations" for port in signer_ports
        )
    return {service.env_prefix + key: value for key, value in values.items()}


def write_env_file(cfg: infra.InfraConfig, service: Service, settings: dict[str, str]) -> Path:
    """The settings as an env file, so an operator command runs against the local suite:
    `python -m <package> --env-file .state/local/env/<service>.env <command>`."""
    folder = cfg.state / "env"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{service.name}.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in sorted(settings.items())))
    path.chmod(0o600)  # database and admin passwords
    return path


def admin_settings(cfg: infra.InfraConfig) -> dict[str, str]:
    """The first admin of the local suite; its password is generated once and kept in .state."""
    secret = cfg.state / "admin-password"
    if not secret.exists():
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.write_text(secrets.token_urlsafe(18))
        secret.chmod(0o600)
    return {
        "ADMIN_EMAIL": "admin@suite.local",
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": secret.read_text().strip(),
    }


# Each server's log under `make run` is cut back past this size.
LOG_LIMIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Process:
    """A server `run` started: what to call it, and the log to read when it fails."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def check_running(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log}")

    def keep_log_small(self, limit: int = LOG_LIMIT_BYTES) -> None:
        """Past `limit`, keep the log as `<log>.1` and start it again (one generation kept).

        Copy, then truncate: the server keeps its file open in append mode, so it goes on
        writing at the new end (a bench once grew the gateway's log to 936 MB)."""
        try:
            if self.log.stat().st_size <= limit:
                return
            shutil.copyfile(self.log, self.log.with_name(self.log.name + ".1"))
            os.truncate(self.log, 0)
        except OSError:
            return


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def wait_ready(waiting: dict[Process, str], timeout: float = 60.0) -> None:
    """Until each process answers 200 on its URL, counting them aloud as they do."""
    total, pending = len(waiting), dict(waiting)
    deadline = time.monotonic() + timeout
    while pending:
        for process, url in list(pending.items()):
            process.check_running()
            if answers(url):
                del pending[process]
                if total > 1:
                    say(f"replicas ready {total - len(pending)} of {total} ({process.name})")
        if pending and time.monotonic() > deadline:
            late = ", ".join(f"{p.name} ({p.log})" for p in pending)
            raise RuntimeError(f"not ready after {timeout:.0f}s: {late}")
        time.sleep(0.25)


class Suite:
    """Everything `run` started, so that it stops exactly that."""

    def __init__(self, layout: Layout, count: int) -> None:
        self.layout = layout
        self.cfg = layout.servers
        self.replicas = layout.replicas(count)
        self.gateway_port = layout.gateway_port
        self.processes: list[Process] = []
        self._keys: tuple[Path, Path] = (Path(), Path())  # public, private: known once started
        self.prometheus: prometheus.Server | None = None
        self._claim: IO[str] | None = None

    @property
    def targets_file(self) -> Path:
        """The replicas to scrape, as Prometheus file_sd reads them (deploy/prometheus reads it)."""
        return self.cfg.state / "prometheus" / "targets.json"

    def start(self) -> None:
        self._claim_state()
        infra.start(self.cfg)
        create_databases(self.cfg)
        private_key, public_key = ensure_keys(self.cfg)
        logs = self.cfg.state / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        say(f"migrating {', '.join(s.name for s in SERVICES)}")
        for service in SERVICES:
            env = service_env(self.layout, service, public_key, private_key)
            write_env_file(
                self.cfg, service, service_settings(self.layout, service, public_key, private_key)
            )
            log = logs / f"{service.name}-migrate.log"
            with log.open("wb") as out:
                migrate = subprocess.run(
                    [sys.executable, "-m", service.package, "migrate"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if migrate.returncode:
                raise RuntimeError(f"{service.name}'s migrations failed; see {log}")
        say("migrations at head")
        self._start_mailsink(logs)
        self._start_oidc_provider(logs)
        self._keys = (public_key, private_key)
        serving = [self.start_replica(replica) for replica in self.replicas]
        say(f"started {len(self.replicas)} replicas; their logs: {logs}/<replica>.log")
        wait_ready(
            {
                process: f"http://127.0.0.1:{replica.port}/health/readiness"
                for process, replica in zip(serving, self.replicas, strict=True)
            }
        )
        self._start_gateway()
        prometheus.write_targets(
            self.targets_file, [(r.service.name, r.port) for r in self.replicas]
        )
        self._start_prometheus()
        self._write_manifest()

    def _start_prometheus(self) -> None:
        port = self.layout.prometheus_port
        if port is None:
            return
        self.prometheus = prometheus.start(
            self.cfg.state / "prometheus", port=port, targets=self.targets_file
        )
        self.processes.append(Process("prometheus", self.prometheus.popen, self.prometheus.log))
        say(f"prometheus on :{port}, scraping {len(self.replicas)} replicas")

    def _write_manifest(self) -> None:
        # Last, once everything answers: tests find the suite behind a gateway port by it.
        manifest = {
            "gateway_port": self.gateway_port,
            "replicas": [
                {"name": r.name, "service": r.service.name, "port": r.port} for r in self.replicas
            ],
            "prometheus_targets": str(self.targets_file),
        }
        (self.cfg.state / MANIFEST).write_text(json.dumps(manifest, indent=2))

    def start_replica(self, replica: Replica) -> Process:
        """Start one replica (again, after `kill`); returns at once, not waiting for readiness."""
        public_key, private_key = self._keys
        signer_ports = [r.port for r in self.replicas if r.service.signs_tokens]
        env = service_env(self.layout, replica.service, public_key, private_key, signer_ports)
        prefix = replica.service.env_prefix
        env[f"{prefix}REPLICA"] = replica.name
        if os.environ.get("SUITE_TRACES") == "1":
            env[f"{prefix}TRACES_FILE"] = str(self.cfg.state / "traces" / f"{replica.name}.jsonl")
        log = self.cfg.state / "logs" / f"{replica.name}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", replica.service.package, "api", "--port", str(replica.port)],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(replica.name, popen, log)
        self.processes.append(process)
        return process

    def kill(self, name: str) -> None:
        """SIGKILL a replica, as the kernel's OOM killer or a failed node would: no drain."""
        for process in self.processes:
            if process.name == name and process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
                self.processes.remove(process)
                return
        raise LookupError(f"no running process {name}")

    def restart(self, name: str) -> None:
        """Start a killed replica again and wait until it is ready."""
        replica = next(r for r in self.replicas if r.name == name)
        process = self.start_replica(replica)
        wait_ready({process: f"http://127.0.0.1:{replica.port}/health/readiness"})

    def _start_mailsink(self, logs: Path) -> None:
        if infra.port_open(self.layout.smtp_port):
            raise RuntimeError(
                f"port {self.layout.smtp_port} is taken: set SUITE_SMTP_PORT to a free one"
            )
        log = logs / "mailsink.log"
        folder = self.cfg.state / "mail"
        popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.mailsink",
                "--port",
                str(self.layout.smtp_port),
                "--dir",
                str(folder),
            ],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sink = Process("mailsink", popen, log)
        self.processes.append(sink)
        deadline = time.monotonic() + 20
        while not infra.port_open(self.layout.smtp_port):
            sink.check_running()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the mail sink did not start; see {log}")
            time.sleep(0.1)
        say(f"mail sink on :{self.layout.smtp_port}; messages in {folder}")

    def _start_oidc_provider(self, logs: Path) -> None:
        port = self.layout.oidc_port
        if port is None:
            return
        if infra.port_open(port):
            raise RuntimeError(f"port {port} is taken: set SUITE_OIDC_PORT to a free one")
        secret = (self.cfg.state / "oidc-client-secret").read_text().strip()
        callback = f"http://127.0.0.1:{self.gateway_port}/api/v1/auth/oidc/local/callback"
        client = {"client_id": "suite-local", "client_secret": secret, "redirect_uris": [callback]}
        log = logs / "oidc-provider.log"
        popen = oidc_provider.start(port, client=client, accounts=OIDC_ACCOUNTS, log=log)
        self.processes.append(Process("oidc-provider", popen, log))
        say(f"OpenID provider on :{port} (users: {', '.join(OIDC_ACCOUNTS)}, any password)")

    def _start_gateway(self) -> None:
        prefix = self.cfg.state / "nginx"
        infra._prepare_dir(prefix)
        upstreams: dict[str, list[str]] = {}
        for replica in self.replicas:
            upstreams.setdefault(replica.service.name, []).append(f"127.0.0.1:{replica.port}")
        config = render.render(
            target="local",
            listen_port=self.gateway_port,
            upstreams=upstreams,
            max_body_mib=int(os.environ.get("FILES_MAX_UPLOAD_MIB", 50)),
            prefix=str(prefix),
            # Per client address, on login and register together.
            auth_rate=os.environ.get("SUITE_AUTH_RATE", "10r/m"),
            auth_burst=int(os.environ.get("SUITE_AUTH_BURST", 10)),
        )
        conf = prefix / "nginx.conf"
        conf.write_text(config)
        # The suite's merged OpenAPI document, served at /api/v1/openapi.json.
        (prefix / "openapi.json").write_text(json.dumps(merged_document(), indent=2))
        log = prefix / "nginx.log"
        popen = infra._spawn(
            ["/usr/sbin/nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], log=log
        )
        nginx = Process("nginx", popen, log)
        self.processes.append(nginx)
        wait_ready({nginx: f"http://127.0.0.1:{self.gateway_port}/healthz"}, timeout=20)
        say(f"nginx started on :{self.gateway_port}")

    def _claim_state(self) -> None:
        """One suite per state folder, held while this process lives (the kernel drops the lock
        of a killed one): a second suite would take the first one's servers as its own, and its
        failed start (a port taken) would stop them under the first."""
        path = self.cfg.state / "suite.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        claim = path.open("a+")
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            claim.seek(0)
            holder = claim.read().strip() or "?"
            claim.close()
            raise RuntimeError(
                f"a suite already runs from {self.cfg.state} (pid {holder}); stop it first "
                "(Ctrl-C where it runs), or start this one elsewhere: SUITE_STATE=<name> "
                "SUITE_PORT_OFFSET=<n>"
            ) from None
        claim.truncate(0)
        claim.write(f"{os.getpid()}\n")
        claim.flush()
        self._claim = claim

    def stop(self) -> None:
        if self._claim is None:
            return  # Another suite owns this state folder: nothing in it is this one's to stop.
        (self.cfg.state / MANIFEST).unlink(missing_ok=True)
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                stop_signal = signal.SIGQUIT if process.name == "nginx" else signal.SIGTERM
                process.popen.send_signal(stop_signal)
        for process in self.processes:
            try:
                process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"{process.name} did not stop in 30s; killing it")
                process.popen.kill()
        self.processes.clear()
        infra.stop(self.cfg)
        self._claim.close()
        self._claim = None

    def describe(self) -> str:
        base = f"http://127.0.0.1:{self.gateway_port}"
        lines = [
            "",
            f"  gateway      {base}   (health: {base}/healthz)",
            f"  docs         {base}/api/v1/docs",
            *(f"  {s.name:<12} {base}/api/v1/{s.name}/docs" for s in SERVICES),
            "  replicas     "
            + ", ".join(f"{r.name}=:{r.port}" for r in self.replicas)
            + "   (/health/*, /metrics: direct only)",
            f"  logs         {self.cfg.state / 'logs'}",
            f"  admin        admin / password in {self.cfg.state / 'admin-password'}",
            f"  mail         {self.cfg.state / 'mail'}/*.eml   (SMTP :{self.layout.smtp_port})",
            f"  scrape       {self.targets_file}   (file_sd; deploy/prometheus reads it)",
        ]
        if self.prometheus is not None:
            lines.append(
                f"  prometheus   {self.prometheus.url}   (a Grafana data source; README: Metrics)"
            )
        lines += [
            "",
            "  Ctrl-C stops everything.",
        ]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole suite locally behind nginx.")
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("SUITE_REPLICAS", 2)))
    args = parser.parse_args()
    suite = Suite(Layout.from_env(), args.replicas)

    def stop_on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop_on_signal)
    failed = False
    try:
        suite.start()
        say("suite is up" + suite.describe())
        ready_file = os.environ.get("SUITE_READY_FILE")
        if ready_file:
            Path(ready_file).write_text(json.dumps({"gateway": suite.gateway_port}))
        while True:
            for process in suite.processes:
                process.check_running()
                process.keep_log_small()
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")
    except (RuntimeError, subprocess.CalledProcessError) as error:  # what failed, and where to look
        say(f"failed: {error}")
        failed = True
    finally:
        # A second Ctrl-C (or uv forwarding the same SIGTERM) must not cut the clean stop short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        suite.stop()
        say("stopped")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

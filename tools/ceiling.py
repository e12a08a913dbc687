"""The framework's ceiling for `make bench`: a trivial FastAPI `GET /ping` -> `{"status":"ok"}`, in
the suite's venv and under the same uvicorn flags as a service, 2 processes (as a service runs 2
replicas), behind a minimal nginx.

Every row of the bench is a ratio against this app's requests/s on this machine, in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from shared.web.server import server_config
from tools import infra, suite
from tools.loadgen import with_children

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


def serve(port: int) -> None:
    """One process of the trivial app, served as every service is (`server_config`)."""
    uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="warning")).run()


_NGINX = """worker_processes 1;
pid "{prefix}/nginx.pid";
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path "{prefix}/client_body";
    proxy_temp_path "{prefix}/proxy";
    fastcgi_temp_path "{prefix}/fastcgi";
    uwsgi_temp_path "{prefix}/uwsgi";
    scgi_temp_path "{prefix}/scgi";
    upstream ceiling {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://ceiling;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Ceiling:
    """A running app behind its nginx: its URL, and the pids of its app processes and of nginx."""

    url: str
    app_pids: list[int]
    nginx_pids: list[int]


@contextlib.contextmanager
def running(
    state: Path,
    *,
    app_ports: Sequence[int],
    port: int,
    app: Sequence[str] = ("tools.ceiling",),
    path: str = "/ping",
    name: str = "ceiling",
) -> Iterator[Ceiling]:
    """Start `python -m <app> --port <p>` for each port (one process per port, as the suite runs
    one per replica) and an nginx in front; stop all, by pid, on exit. `path` is what `url` loads;
    `/ping` answers 200 once the app is up."""
    prefix = state / f"{name}-nginx"
    infra._prepare_dir(prefix)
    conf = prefix / "nginx.conf"
    servers = "\n".join(f"        server 127.0.0.1:{app_port};" for app_port in app_ports)
    conf.write_text(_NGINX.format(prefix=prefix, servers=servers, port=port))
    log = (state / f"{name}.log").open("ab")
    # Not `uvicorn --workers 2`: its worker processes on asyncio's loop answered in 44 ms what
    # one process answers in 4 (1,450 req/s for both), which would flatter every ratio.
    apps = [
        subprocess.Popen(
            [sys.executable, "-m", *app, "--port", str(app_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for app_port in app_ports
    ]
    nginx = infra._spawn(
        ["/usr/sbin/nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        log=state / f"{name}-nginx.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        infra.wait_for(f"the {name} app", lambda: suite.answers(f"{base}/ping"), timeout=30)
        yield Ceiling(
            url=base + path,
            app_pids=with_children([app.pid for app in apps]),
            nginx_pids=with_children([nginx.pid]),
        )
    finally:
        stops = [(nginx, signal.SIGQUIT), *((app, signal.SIGTERM) for app in apps)]
        for process, stop in stops:
            process.send_signal(stop)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        time.sleep(0.1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one process of the bench's trivial app")
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)

"""The framework's ceiling for `make bench`: a trivial FastAPI `GET /ping` -> `{"status":"ok"}`, in
the suite's venv and under the same uvicorn flags as a service, 2 workers, behind a minimal nginx.

Every row of the bench is a ratio against this app's requests/s on this machine, in the same run.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from shared.web.server import EVENT_LOOP
from tools import infra, suite
from tools.loadgen import with_children

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


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
        server 127.0.0.1:{app_port};
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
    """The running ceiling: its URL, and the pids of its app workers and of its nginx."""

    url: str
    app_pids: list[int]
    nginx_pids: list[int]


@contextlib.contextmanager
def running(state: Path, *, app_port: int, port: int) -> Iterator[Ceiling]:
    """Start the trivial app (2 workers) and its nginx; stop both, by pid, on exit."""
    prefix = state / "ceiling-nginx"
    infra._prepare_dir(prefix)
    conf = prefix / "nginx.conf"
    conf.write_text(_NGINX.format(prefix=prefix, app_port=app_port, port=port))
    log = (state / "ceiling.log").open("ab")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tools.ceiling:app",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(app_port),
            "--no-access-log",
            "--no-server-header",
            "--loop",
            EVENT_LOOP,
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    nginx = infra._spawn(
        ["/usr/sbin/nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        log=state / "ceiling-nginx.log",
    )
    try:
        url = f"http://127.0.0.1:{port}/ping"
        infra.wait_for("the ceiling app", lambda: suite.answers(url), timeout=30)
        yield Ceiling(
            url=url,
            app_pids=with_children([server.pid]),
            nginx_pids=with_children([nginx.pid]),
        )
    finally:
        for process, stop in ((nginx, signal.SIGQUIT), (server, signal.SIGTERM)):
            process.send_signal(stop)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        time.sleep(0.1)

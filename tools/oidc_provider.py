"""A real OpenID Provider for the tests: panva/oidc-provider (OpenID-certified) under Node.

    with running(port, client={...}, accounts={...}) as issuer:
        callback = sign_in(authorization_url, login="alice", stop_at="http://.../callback")

The npm package is installed once into .state/tools/oidc (npm is Node 20's). Its development
login page accepts any password for a configured login; `sign_in` fills it in and consents, as a
user at a browser would, and returns the redirect to the client's callback (with code and state).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from tools.infra import ROOT, port_open

PACKAGE = "oidc-provider@8.8.1"  # supports Node 18-22
PREFIX = ROOT / ".state" / "tools" / "oidc"
SCRIPT = Path(__file__).parent / "oidc" / "provider.mjs"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"')


def install() -> Path:
    """The provider's script beside its node_modules (ESM resolves packages from there)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is missing: install Node.js 20 (Debian's nodejs and npm)")
    if not (PREFIX / "node_modules" / "oidc-provider").exists():
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", PACKAGE],
            check=True,
            capture_output=True,
            timeout=600,
        )
    script = PREFIX / SCRIPT.name
    shutil.copyfile(SCRIPT, script)
    return script


def start(
    port: int, *, client: dict[str, Any], accounts: dict[str, dict[str, Any]], log: Path
) -> subprocess.Popen[bytes]:
    """Start the provider on 127.0.0.1:`port` and wait until it listens."""
    script = install()
    node = shutil.which("node") or "node"
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT": json.dumps(client),
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [node, str(script)], env=env, stdout=out, stderr=out, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"oidc-provider did not start; see {log}")
        time.sleep(0.1)
    return process


@contextlib.contextmanager
def running(
    port: int, *, client: dict[str, Any], accounts: dict[str, dict[str, Any]]
) -> Iterator[str]:
    """The provider on 127.0.0.1:`port` for the block; yields its issuer URL."""
    process = start(port, client=client, accounts=accounts, log=PREFIX / f"provider-{port}.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def sign_in(authorization_url: str, *, login: str, stop_at: str) -> str:
    """Log in as `login` at the provider and consent; the URL it then sends the browser to."""
    with httpx.Client(timeout=10) as browser:
        url = authorization_url
        for _ in range(12):
            if url.startswith(stop_at):
                return url
            page = browser.get(url)
            if page.is_redirect:
                url = urljoin(url, page.headers["location"])
                continue
            form = _FORM.search(page.text)
            if form is None:
                raise AssertionError(f"no form at {url}: {page.status_code} {page.text[:300]}")
            action = urljoin(url, html.unescape(form.group(1)))
            fields = (
                {"prompt": "login", "login": login, "password": "any"}
                if 'name="login"' in page.text
                else {"prompt": "consent"}
            )
            submitted = browser.post(action, data=fields)
            if not submitted.is_redirect:
                raise AssertionError(f"{action}: {submitted.status_code} {submitted.text[:300]}")
            url = urljoin(action, submitted.headers["location"])
        raise AssertionError("the provider never sent the browser back")

"""The `suite` command line, run as a user runs it: the README's walkthrough end to end."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.suite import E2E

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(sys.executable).with_name("suite")  # the script the workspace installs
PASSWORD = "correct horse battery staple"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def suite(base_url: str, tmp_path: Path) -> Run:
    """`suite ARGS...` with a config directory of its own; fails unless the exit status is `expect`."""
    env = {**os.environ, "SUITE_URL": base_url, "XDG_CONFIG_HOME": str(tmp_path / "config")}

    def run(*args: str, stdin: str = "", expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(SUITE), *args],
            input=stdin,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == expect, f"suite {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done

    return run


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def register(suite: Run) -> str:
    """A new account through `suite register`; its name."""
    name = f"cli_{secrets.token_hex(4)}"
    suite(
        "register",
        "--username",
        name,
        "--email",
        f"{name}@example.com",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    return name


def test_the_readme_walkthrough(suite: Run, tmp_path: Path) -> None:
    name = register(suite)
    assert name in suite("login", name, "--password-stdin", stdin=f"{PASSWORD}\n").stdout
    credentials = tmp_path / "config" / "suite" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert as_json(suite("whoami", "--json"))["username"] == name

    todo = as_json(
        suite("--json", "todos", "add", "Water the plants", "--priority", "high", "--tag", "home")
    )
    assert suite("todos", "list").stdout.count("Water the plants") == 1
    assert as_json(suite("todos", "done", todo["id"], "--json"))["completed"] is True
    edited = as_json(suite("todos", "edit", todo["id"], "--title", "Water the roses", "--json"))
    assert (edited["title"], edited["completed"]) == ("Water the roses", True)
    assert as_json(suite("todos", "show", todo["id"], "--json"))["version"] == edited["version"]
    suite("todos", "rm", todo["id"])
    assert as_json(suite("todos", "list", "--json")) == []

    data = os.urandom(2 * 1024 * 1024)
    (tmp_path / "photo.bin").write_bytes(data)
    [uploaded] = as_json(suite("files", "upload", "photo.bin", "--json"))
    assert uploaded["size"] == len(data)
    assert [f["id"] for f in as_json(suite("files", "ls", "--json"))] == [uploaded["id"]]
    suite("files", "download", uploaded["id"], "-o", "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == data
    suite("files", "rm", uploaded["id"])

    [session] = as_json(suite("sessions", "list", "--json"))
    assert session["current"] is True
    suite("logout")
    refused = suite("whoami", expect=1)
    assert "request id:" in refused.stderr and "suite login" in refused.stderr


def test_an_error_prints_the_problem_and_exits_non_zero(suite: Run) -> None:
    name = register(suite)
    taken = suite(
        "register",
        "--username",
        name,
        "--email",
        f"{name}@example.com",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
        expect=1,
    )
    assert "409" in taken.stderr and "request id: " in taken.stderr
    suite("login", name, "--password-stdin", stdin=f"{PASSWORD}\n")
    forbidden = suite("admin", "users", expect=1)
    assert "403" in forbidden.stderr


def test_an_admin_lists_the_users(suite: Run, eventually) -> None:
    name = register(suite)
    secret = os.environ.get("E2E_ADMIN_PASSWORD_FILE", E2E.state / "admin-password")
    password = Path(secret).read_text().strip()
    suite("login", "admin", "--password-stdin", stdin=f"{password}\n")
    eventually(
        lambda: name in [u["username"] for u in as_json(suite("admin", "users", "--json"))],
        within=2.0,
        what=f"{name} in the admin's list",
    )
    first = suite("admin", "users", "--limit", "1")
    assert name in first.stdout and "more: --cursor " in first.stderr
    user_id = as_json(suite("admin", "users", "--limit", "1", "--json"))[0]["id"]
    suite("admin", "disable", user_id)
    events = as_json(suite("admin", "events", "--user", user_id, "--json"))
    assert events[0]["type"] == "account_disabled"
    suite("admin", "enable", user_id)


def test_an_unreachable_gateway_is_said_plainly(suite: Run) -> None:
    down = suite("--url", "http://127.0.0.1:9", "whoami", expect=2)
    assert "Cannot reach the suite" in down.stderr

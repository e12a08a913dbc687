"""A real Prometheus (Debian's package) scrapes every replica of the suite under test while a short,
bounded load runs through the gateway; then every query of every panel of the Grafana dashboard
must return data, and every alert rule must parse and evaluate, through Prometheus' HTTP API."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tools import infra, prometheus, suite

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "suite-dashboard.json"
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
PASSWORD = "correct horse battery staple"
# What Grafana would put in for its built-in variables on a 15-minute view of this run (scraped
# every second): windows wide enough to hold the whole load.
BUILTINS = {"__rate_interval": "2m", "__interval": "15s", "__range": "15m"}


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those folded inside rows too."""
    for item in items:
        yield item
        yield from panels(item.get("panels", []))


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each dashboard variable's value as PromQL should see it: its current one, or any."""
    values = dict(BUILTINS)
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value")
        if isinstance(current, list):
            current = "|".join(current)
        values[variable["name"]] = ".*" if current in (None, "", "$__all") else str(current)
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's `$name`, `${name}` and `[[name]]`, replaced; an unknown variable fails."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        assert name in values, f"{expr!r} uses ${name}, which the dashboard does not define"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", value, expr)


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, query ready for Prometheus) for every target of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    values = variables(dashboard)
    return [
        (panel.get("title", "?"), substitute(target["expr"], values))
        for panel in panels(dashboard["panels"])
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def alert_expressions() -> list[tuple[str, str]]:
    """(rule name, expression) for every rule of the rules file the configuration loads."""
    config = yaml.safe_load(CONFIG.read_text())
    rules = []
    for name in config["rule_files"]:
        for group in yaml.safe_load((CONFIG.parent / name).read_text())["groups"]:
            rules += [(r.get("alert") or r["record"], r["expr"]) for r in group["rules"]]
    return rules


def test_the_substitution_replaces_every_variable_form() -> None:
    values = {"service": "todos", "__rate_interval": "2m"}
    expr = 'rate(x{service="$service", a="${service}", b="[[service]]"}[$__rate_interval])'
    assert substitute(expr, values) == 'rate(x{service="todos", a="todos", b="todos"}[2m])'
    with pytest.raises(AssertionError, match="does not define"):
        substitute("rate(x[$nope])", values)


class Api:
    """Prometheus' HTTP API: instant queries, targets, rules."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def query(self, expr: str) -> tuple[int, dict[str, Any]]:
        response = self.http.get("/api/v1/query", params={"query": expr})
        return response.status_code, response.json()

    def series(self, expr: str) -> list[dict[str, Any]]:
        code, body = self.query(expr)
        assert code == 200 and body["status"] == "success", f"{expr!r}: {code} {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.http.get("/api/v1/targets").json()["data"][
            "activeTargets"
        ]
        return active

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self.http.get("/api/v1/rules").json()["data"]["groups"]
        return groups


@pytest.fixture(scope="module")
def scraped(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The suite's own description (replicas, targets file), and a Prometheus scraping it every
    second, on SUITE_PROMETHEUS_PORT + 1000 (a `SUITE_PROMETHEUS=1 make run` keeps its own)."""
    port = urlsplit(base_url).port
    running = suite.running_suite(port) if port else None
    if running is None:
        # A suite elsewhere (E2E_BASE_URL) has replicas this machine may not even reach.
        if os.environ.get("E2E_BASE_URL"):
            pytest.skip(f"{base_url} is not a suite of this checkout: its replicas are unknown")
        pytest.fail(f"the suite at {base_url} wrote no {suite.MANIFEST} under {infra.state_root()}")
    server = prometheus.start(
        tmp_path_factory.mktemp("prometheus"),
        port=prometheus.default_port() + 1000,
        targets=Path(running["prometheus_targets"]),
        interval="1s",
    )
    try:
        yield {**running, "api": Api(server.url), "log": server.log}
    finally:
        server.stop()


def drive_load(client: httpx.Client, eventually: Callable[..., Any]) -> int:
    """A short, bounded round of what users do, through the gateway: each request counted."""
    sent = 0

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        nonlocal sent
        sent += 1
        return client.request(method, path, **kwargs)

    for _ in range(3):
        name = f"prom_{secrets.token_hex(4)}"
        account = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        assert call("POST", "/api/v1/auth/register", json=account).status_code == 201
        wrong = {"username": name, "password": "not the password"}
        assert call("POST", "/api/v1/auth/login", json=wrong).status_code == 401
        login = call("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # users applies user.registered: one event through the broker, and consumer lag > none.
        eventually(
            lambda headers=headers: call("GET", "/api/v1/users/me", headers=headers).is_success,
            within=10,
            what="the profile from user.registered",
        )
        uploaded = call(
            "POST",
            "/api/v1/files",
            files={"file": ("note.txt", b"a note", "text/plain")},
            headers=headers,
        )
        assert uploaded.status_code == 201, uploaded.text
        for number in range(5):
            todo = {"title": f"todo {number}"}
            assert call("POST", "/api/v1/todos", json=todo, headers=headers).status_code == 201
        assert call("GET", "/api/v1/todos", headers=headers).is_success
        assert call("GET", f"/api/v1/files/{uploaded.json()['id']}/content", headers=headers)
        refused = call("GET", "/api/v1/todos", headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401
        # user.deleted reaches auth, todos and files: more events, consumed by three services.
        assert call("DELETE", "/api/v1/users/me", headers=headers).status_code == 204
    return sent


def test_every_panel_and_alert_rule_evaluates_on_a_real_scrape(
    scraped: dict[str, Any], client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    api: Api = scraped["api"]
    replicas = {f"127.0.0.1:{r['port']}" for r in scraped["replicas"]}

    def all_up() -> bool:
        healthy = {t["labels"]["instance"] for t in api.targets() if t["health"] == "up"}
        return healthy == replicas

    eventually(all_up, within=30, what=lambda: f"every replica scraped: {api.targets()}")
    started = time.monotonic()
    sent = drive_load(client, eventually)
    print(f"load: {sent} requests in {time.monotonic() - started:.1f} s")  # noqa: T201

    queries = dashboard_queries()
    empty: list[str] = []

    def every_panel_has_data() -> bool:
        empty[:] = [f"{title}: {expr}" for title, expr in queries if not api.series(expr)]
        return not empty

    # Each rate needs two scrapes after the load: a bounded wait, not a sleep.
    eventually(
        every_panel_has_data,
        within=30,
        interval=1,
        what=lambda: "panel queries returning no series:\n  " + "\n  ".join(empty),
    )
    # Every service consumes events: each one's dead-letter queue is measured, at 0 or more.
    dead_letter_queues = api.series("max by (service) (events_dead_letter_queue_depth)")
    assert {s["metric"]["service"] for s in dead_letter_queues} == {
        r["service"] for r in scraped["replicas"]
    }
    rules = alert_expressions()
    for name, expr in rules:
        code, body = api.query(expr)
        assert (code, body["status"]) == (200, "success"), f"{name}: {expr!r}: {body}"
    # And as Prometheus' rule manager runs them: every rule loaded, evaluated, without error.
    loaded: dict[str, dict[str, Any]] = {}

    def all_evaluated() -> bool:
        loaded.clear()
        for group in api.rule_groups():
            loaded.update({rule["name"]: rule for rule in group["rules"]})
        evaluated = [r for r in loaded.values() if r.get("lastEvaluation", "").startswith("20")]
        return len(evaluated) == len(rules)

    eventually(all_evaluated, within=15, interval=0.5, what=lambda: f"rules evaluated: {loaded}")
    assert {name for name, _ in rules} == set(loaded)
    broken = {name: r["lastError"] for name, r in loaded.items() if r.get("lastError")}
    assert not broken and all(r["health"] == "ok" for r in loaded.values()), broken
    print(  # noqa: T201
        f"evaluated {len(queries)} panel queries and {len(rules)} alert expressions"
        f" over {len(replicas)} replicas"
    )

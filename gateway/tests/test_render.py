"""The rendered config for every target passes `nginx -t`; the renderer refuses unsafe values."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tools.services import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
RENDER = [sys.executable, "-m", "gateway.nginx.render"]


def nginx_test(nginx_bin: str, prefix: Path, text: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        [nginx_bin, "-t", "-q", "-p", str(prefix), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def loopback_for_names(text: str, names: list[str], prefix: Path) -> str:
    """The same text with container names and paths swapped for ones that work on this machine.

    nginx resolves upstream names while testing a config, and `auth`, `users`... do not resolve
    outside compose or a cluster; the container /tmp paths would be created on this machine.
    Only those tokens change, so what `nginx -t` checks is otherwise the default rendering. An
    address needs no `resolve` (which this machine's nginx, 1.22, would not know: the compose
    tests run the config in the gateway image's nginx >= 1.27.3).
    """
    for i, name in enumerate(names):
        text, count = re.subn(
            rf"\bserver {re.escape(name)}( resolve)? ", f"server 127.0.0.1:{9000 + i} ", text
        )
        assert count == 1, name
    return text.replace('"/tmp/', f'"{prefix}/')


def test_local_rendering_passes_nginx_t(
    renderer: ModuleType, nginx_bin: str, prefix_dir: Path
) -> None:
    text = renderer.render(target="local", listen_port=18080, prefix=str(prefix_dir))

    nginx_test(nginx_bin, prefix_dir, text)
    assert "listen 127.0.0.1:18080;" in text
    assert "/var/" not in text
    for directive in ("pid", *(f"{d}_temp_path" for d in renderer.TEMP_DIRS)):
        assert re.search(rf'^\s*{directive} "{prefix_dir}/', text, re.M), directive


def test_local_rendering_without_prefix_is_relative_to_nginx_p(
    renderer: ModuleType, nginx_bin: str, prefix_dir: Path
) -> None:
    text = renderer.render(target="local")

    assert 'pid "nginx.pid";' in text
    nginx_test(nginx_bin, prefix_dir, text)
    assert (prefix_dir / "client_body_temp").is_dir()


def test_compose_rendering_names_services_and_passes_nginx_t(
    renderer: ModuleType, nginx_bin: str, prefix_dir: Path
) -> None:
    text = renderer.render(target="compose")
    names = [f"{service}:8000" for service in SERVICE_NAMES]

    assert "listen 0.0.0.0:8080;" in text
    # Docker's DNS asked again every 2 s: the gateway follows replicas without a restart.
    assert "resolver 127.0.0.11 valid=2s ipv6=off;" in text
    for service, name in zip(SERVICE_NAMES, names, strict=True):
        assert f"zone {service}_service 64k;" in text
        assert f"server {name} resolve max_fails=3 fail_timeout=5s;" in text
    assert 'pid "/tmp/nginx.pid";' in text
    nginx_test(nginx_bin, prefix_dir, loopback_for_names(text, names, prefix_dir))


@pytest.mark.parametrize(("namespace", "expected"), [(None, "default"), ("suite", "suite")])
def test_k8s_rendering_resolves_headless_services_in_full_and_passes_nginx_t(
    renderer: ModuleType, nginx_bin: str, prefix_dir: Path, namespace: str | None, expected: str
) -> None:
    text = renderer.render(target="k8s", k8s_namespace=namespace)
    names = [f"{s}-headless.{expected}.svc.cluster.local:8000" for s in SERVICE_NAMES]

    assert "listen 0.0.0.0:8080;" in text
    # The cluster DNS asked again every 2 s: the gateway follows pods as they come and go.
    resolver = "resolver kube-dns.kube-system.svc.cluster.local valid=2s ipv6=off;"
    assert resolver in text
    for service, name in zip(SERVICE_NAMES, names, strict=True):
        assert f"zone {service}_service 64k;" in text
        assert f"server {name} resolve max_fails=3 fail_timeout=5s;" in text
    # This machine resolves no cluster name: nginx -t checks the rest against loopback.
    text = text.replace(resolver, "resolver 127.0.0.1 valid=2s ipv6=off;")
    nginx_test(nginx_bin, prefix_dir, loopback_for_names(text, names, prefix_dir))


def test_every_template_variable_renders_a_valid_config(
    renderer: ModuleType, nginx_bin: str, prefix_dir: Path
) -> None:
    text = renderer.render(
        target="local",
        listen_port=18081,
        upstreams={"todos": ["127.0.0.1:9001", "localhost:9002", "[::1]:9003"]},
        max_body_mib=7,
        prefix=str(prefix_dir),
        worker_processes=2,
        worker_connections=512,
        auth_rate="5r/s",
        auth_burst=3,
        general_rate="50r/s",
        general_burst=20,
        default_max_body="512k",
        multipart_allowance_mib=2,
        proxy_connect_timeout_s=1,
        proxy_read_timeout_s=5,
        proxy_send_timeout_s=6,
        upstream_keepalive_timeout_s=3,
    )

    nginx_test(nginx_bin, prefix_dir, text)
    assert "client_max_body_size 9m;" in text
    assert "client_max_body_size 512k;" in text
    assert "limit_req zone=general burst=20 nodelay;" in text
    assert "rate=5r/s;" in text


def test_upstream_blocks_keep_connections_and_retry_only_idempotent_requests(
    renderer: ModuleType,
) -> None:
    text = renderer.render(target="local")

    assert text.count("keepalive 32;") == len(SERVICE_NAMES)
    # Not http_503: an overloaded replica's 503 must not count towards max_fails (see the template).
    assert "proxy_next_upstream error timeout http_502 http_504;" in text
    assert "non_idempotent" not in text.replace("`non_idempotent`", "")
    assert "proxy_next_upstream_tries 3;" in text
    assert "proxy_intercept_errors off;" in text
    assert "server_tokens off;" in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "swarm"},
        {"target": "local", "upstreams": {"todos": ["127.0.0.1:1; include /etc/passwd"]}},
        {"target": "local", "upstreams": {"todos": ["127.0.0.1"]}},
        {"target": "local", "upstreams": {"todos": ["127.0.0.1:70000"]}},
        {"target": "local", "upstreams": {"todos": []}},
        {"target": "local", "upstreams": {"billing": ["127.0.0.1:1"]}},
        {"target": "local", "auth_rate": "10 per minute"},
        {"target": "local", "general_rate": "1r/h"},
        {"target": "local", "prefix": '/srv/x"; user root'},
        {"target": "local", "max_body_mib": 0},
        {"target": "local", "listen_port": 65536},
        {"target": "local", "default_max_body": "1g; x"},
        {"target": "k8s", "k8s_namespace": "Bad_Namespace"},
    ],
)
def test_render_refuses_values_that_could_break_or_inject_config(
    renderer: ModuleType, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        renderer.render(**kwargs)


@pytest.mark.parametrize(("rate", "seconds"), [("10r/m", 6), ("7r/m", 9), ("5r/s", 1)])
def test_retry_after_matches_the_rate(renderer: ModuleType, rate: str, seconds: int) -> None:
    assert renderer.retry_after_seconds(rate) == seconds


def test_cli_writes_a_config_nginx_accepts(nginx_bin: str, prefix_dir: Path) -> None:
    out = prefix_dir / "conf" / "nginx.conf"
    state = prefix_dir / "state"
    subprocess.run(
        [
            *RENDER,
            "--target=local",
            f"--out={out}",
            "--listen=18082",
            "--upstream=todos=127.0.0.1:9101,127.0.0.1:9102",
            "--upstream=auth=127.0.0.1:9201",
            "--max-body-mib=5",
            f"--prefix={state}",
        ],
        check=True,
        timeout=30,
        cwd=ROOT,
    )
    text = out.read_text()

    assert "server 127.0.0.1:9102 max_fails=3 fail_timeout=10s;" in text
    assert "server 127.0.0.1:9201 max_fails=3 fail_timeout=10s;" in text
    assert "server 127.0.0.1:8201 max_fails=3 fail_timeout=10s;" in text  # users: default
    assert "client_max_body_size 6m;" in text
    assert state.is_dir()
    result = subprocess.run(
        [nginx_bin, "-t", "-q", "-p", str(state), "-c", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_cli_reports_bad_input_without_a_traceback() -> None:
    result = subprocess.run(
        [*RENDER, "--target=local", "--upstream=todos=nowhere"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )

    assert result.returncode == 2
    assert "must be host:port" in result.stderr
    assert "Traceback" not in result.stderr

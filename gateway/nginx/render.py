"""Render the gateway's nginx.conf from its one Jinja2 source, for local, compose or k8s.

Standard library, jinja2 and the service registry (tools.services) only: nothing here may import
`shared` or a service. From the repository root:

    python -m gateway.nginx.render --target local --out .state/nginx/nginx.conf \
        --prefix .state/nginx --upstream todos=127.0.0.1:8301,127.0.0.1:8302
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2

from tools.services import SERVICE_NAMES, SERVICES

TEMPLATE = Path(__file__).with_name("nginx.conf.j2")
TARGETS = ("local", "compose", "k8s")
SERVICE_PORT = 8000  # every service listens on 8000 in its container or pod
LOCAL_REPLICAS = 2  # at their default ports (auth: 8101, 8102, ...)
# In Kubernetes the gateway's peer is the ingress controller, somewhere in the pod network: set
# this to your cluster's pod CIDR (the same placeholder as auth's AUTH_TRUSTED_PROXIES).
DEFAULT_TRUSTED_PROXIES: dict[str, tuple[str, ...]] = {"k8s": ("10.0.0.0/8",)}
# Where the merged OpenAPI document lies in the gateway's image (compose) or ConfigMap (k8s).
OPENAPI_FILES = {"compose": "/etc/nginx/openapi.json", "k8s": "/etc/nginx/k8s/openapi.json"}
# The suite's docs page: Swagger UI from the assets every service serves itself (no CDN), on the
# merged document. No `$` or `'`: nginx returns it as a quoted string.
DOCS_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>suite API</title>'
    '<link rel="stylesheet" href="/api/v1/auth/docs/assets/swagger-ui.css"></head>'
    '<body><div id="swagger-ui"></div>'
    '<script src="/api/v1/auth/docs/assets/swagger-ui-bundle.js"></script>'
    '<script>SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui", '
    "persistAuthorization: true, "
    'oauth2RedirectUrl: window.location.origin + "/api/v1/auth/docs/oauth2-redirect", '
    "presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]});"
    "</script></body></html>"
)
# The DNS server a target's nginx asks again for the upstream names (Docker's embedded one), so
# the gateway follows replicas as they come and go; targets absent here resolve once at start.
# Kubernetes: the cluster DNS Service (CoreDNS keeps the name kube-dns), found by nginx's start-up
# lookup, which does use the pod's resolv.conf.
K8S_CLUSTER_DOMAIN = "cluster.local"
RESOLVERS = {"compose": "127.0.0.11", "k8s": f"kube-dns.kube-system.svc.{K8S_CLUSTER_DOMAIN}"}
K8S_DEFAULT_NAMESPACE = "default"
RESOLVER_VALID_S = 2
CONTAINER_PREFIX = "/tmp"  # noqa: S108 - writable in the nginx and nginx-unprivileged images
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

# Anything interpolated into the config is checked first, so no value can inject directives.
_HOST_PORT = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(\d+)$")
_RATE = re.compile(r"^([1-9]\d*)r/([sm])$")
_SIZE = re.compile(r"^[1-9]\d*[km]?$")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_PATH_UNSAFE = re.compile(r'["\\$;{}\x00-\x1f]')


def default_upstreams(target: str, *, k8s_namespace: str | None = None) -> dict[str, list[str]]:
    """The service addresses each target uses unless told otherwise."""
    if target == "local":
        return {
            service.name: [
                f"127.0.0.1:{service.local_port(i)}" for i in range(1, LOCAL_REPLICAS + 1)
            ]
            for service in SERVICES
        }
    if target == "compose":
        return {name: [f"{name}:{SERVICE_PORT}"] for name in SERVICE_NAMES}
    if target == "k8s":
        # The headless Service of each (base/<name>.yaml): one address per ready pod. A full
        # name, since nginx's resolver ignores resolv.conf's search domains.
        namespace = k8s_namespace or K8S_DEFAULT_NAMESPACE
        return {
            name: [f"{name}-headless.{namespace}.svc.{K8S_CLUSTER_DOMAIN}:{SERVICE_PORT}"]
            for name in SERVICE_NAMES
        }
    raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")


def _parsed_rate(rate: str) -> tuple[int, int]:
    """An nginx rate as (requests, per so many seconds): `10r/m` is (10, 60)."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"rate {rate!r} must look like '10r/m' or '5r/s'")
    return int(match[1]), 60 if match[2] == "m" else 1


def retry_after_seconds(rate: str) -> int:
    """Seconds until a rate of `N r/s` or `N r/m` admits one more request, at least 1."""
    count, seconds = _parsed_rate(rate)
    return max(1, math.ceil(seconds / count))


def rate_limit_policy(name: str, rate: str) -> str:
    """The IETF RateLimit-Policy item of an nginx rate: `N r/m` is N per 60 s, `N r/s` N per 1 s."""
    count, seconds = _parsed_rate(rate)
    return f'"{name}";q={count};w={seconds}'


def render(
    *,
    target: str,
    listen_port: int = 8080,
    upstreams: Mapping[str, Sequence[str]] | None = None,
    max_body_mib: int = 50,
    prefix: str | None = None,
    worker_processes: int = 1,
    worker_connections: int = 1024,
    auth_rate: str = "10r/m",
    auth_burst: int = 10,
    general_rate: str | None = None,
    general_burst: int = 100,
    default_max_body: str = "1m",
    multipart_allowance_mib: int = 1,
    proxy_connect_timeout_s: int = 2,
    proxy_read_timeout_s: int = 30,
    proxy_send_timeout_s: int = 30,
    upstream_keepalive_timeout_s: int = 4,
    k8s_namespace: str | None = None,
    trusted_proxies: Sequence[str] | None = None,
    openapi_file: str | None = None,
) -> str:
    """The nginx.conf text for `target`; `upstreams` overrides the target's defaults per service.

    `trusted_proxies` are the networks of load balancers in front of the gateway whose
    X-Forwarded-For nginx believes (real_ip): default none, but the k8s target's pod network,
    where the ingress controller is the gateway's peer. `openapi_file` is where the merged
    document (`python -m gateway.openapi`) lies for nginx to serve at /api/v1/openapi.json.

    `prefix` is where pid and temp files go. For local without a prefix the paths stay relative,
    which nginx resolves against its `-p` directory; compose and k8s default to /tmp.
    """
    merged = default_upstreams(target, k8s_namespace=_checked_namespace(k8s_namespace))
    for name, servers in (upstreams or {}).items():
        if name not in SERVICE_NAMES:
            raise ValueError(
                f"unknown service {name!r}; expected one of {', '.join(SERVICE_NAMES)}"
            )
        merged[name] = [_checked_address(server) for server in servers]
        if not merged[name]:
            raise ValueError(f"service {name!r} needs at least one upstream address")
    for label, value in (
        ("listen_port", listen_port),
        ("max_body_mib", max_body_mib),
        ("worker_processes", worker_processes),
        ("worker_connections", worker_connections),
        ("auth_burst", auth_burst),
        ("general_burst", general_burst),
        ("proxy_connect_timeout_s", proxy_connect_timeout_s),
        ("proxy_read_timeout_s", proxy_read_timeout_s),
        ("proxy_send_timeout_s", proxy_send_timeout_s),
        ("upstream_keepalive_timeout_s", upstream_keepalive_timeout_s),
    ):
        if value < 1:
            raise ValueError(f"{label} must be at least 1, got {value}")
    if not 1 <= listen_port <= 65535:
        raise ValueError(f"listen_port {listen_port} is not a TCP port")
    if multipart_allowance_mib < 0:
        raise ValueError("multipart_allowance_mib must not be negative")
    if not _SIZE.match(default_max_body):
        raise ValueError(f"default_max_body {default_max_body!r} must look like '1m' or '512k'")
    if trusted_proxies is None:
        trusted_proxies = DEFAULT_TRUSTED_PROXIES.get(target, ())
    networks = [_checked_network(network) for network in trusted_proxies]
    paths = _paths(target, prefix)
    auth_retry_after = retry_after_seconds(auth_rate)
    general_retry_after = retry_after_seconds(general_rate) if general_rate else auth_retry_after

    return (
        _environment()
        .get_template(TEMPLATE.name)
        .render(
            target=target,
            listen_host="127.0.0.1" if target == "local" else "0.0.0.0",  # noqa: S104 - in a container
            listen_port=listen_port,
            upstreams=merged,
            resolver=RESOLVERS.get(target),
            resolver_valid_s=RESOLVER_VALID_S,
            trusted_proxies=networks,
            paths=paths,
            openapi_file=_checked_path(openapi_file or paths["openapi"]),
            docs_html=DOCS_HTML,
            worker_processes=worker_processes,
            worker_connections=worker_connections,
            max_fails=3,
            # Where replicas come and go, a new one is refused while it boots and counted as
            # failed: 5 s, so the gateway uses it within 10 s of it listening (tests/compose).
            fail_timeout_s=5 if target in RESOLVERS else 10,
            upstream_keepalive=32,
            upstream_keepalive_timeout_s=upstream_keepalive_timeout_s,
            max_body_mib=max_body_mib,
            multipart_allowance_mib=multipart_allowance_mib,
            default_max_body=default_max_body,
            auth_rate=auth_rate,
            auth_burst=auth_burst,
            auth_retry_after_s=auth_retry_after,
            auth_policy=rate_limit_policy("credentials", auth_rate),
            general_policy=rate_limit_policy("requests", general_rate or auth_rate),
            general_rate=general_rate,
            general_burst=general_burst,
            general_retry_after_s=general_retry_after,
            proxy_connect_timeout_s=proxy_connect_timeout_s,
            proxy_read_timeout_s=proxy_read_timeout_s,
            proxy_send_timeout_s=proxy_send_timeout_s,
        )
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - the output is nginx config, not HTML; inputs are validated
    )


def _paths(target: str, prefix: str | None) -> dict[str, str]:
    if prefix is None:
        base = "" if target == "local" else CONTAINER_PREFIX + "/"
    elif not prefix or _PATH_UNSAFE.search(prefix):
        raise ValueError(f"prefix {prefix!r} must be a plain path (no quotes, '$', ';' or braces)")
    else:
        base = prefix.rstrip("/") + "/"
    paths = {f"{name}_temp": f"{base}{name}_temp" for name in TEMP_DIRS}
    paths["pid"] = f"{base}nginx.pid"
    paths["openapi"] = OPENAPI_FILES.get(target, f"{base}openapi.json")
    return paths


def _checked_address(server: str) -> str:
    match = _HOST_PORT.match(server)
    if match is None or not 1 <= int(match[1]) <= 65535:
        raise ValueError(f"upstream address {server!r} must be host:port")
    return server


def _checked_path(path: str) -> str:
    if _PATH_UNSAFE.search(path):
        raise ValueError(f"path {path!r} must be a plain path (no quotes, '$', ';' or braces)")
    return path


def _checked_network(network: str) -> str:
    try:
        return str(ipaddress.ip_network(network.strip()))
    except ValueError:
        raise ValueError(f"trusted proxy {network!r} is not an IP network") from None


def _checked_namespace(namespace: str | None) -> str | None:
    if namespace is not None and not _DNS_LABEL.match(namespace):
        raise ValueError(f"k8s namespace {namespace!r} is not a DNS label")
    return namespace


def _parse_upstream(value: str) -> tuple[str, list[str]]:
    name, sep, servers = value.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{value!r} must look like todos=HOST:PORT[,HOST:PORT]")
    return name.strip(), [server.strip() for server in servers.split(",") if server.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the gateway's nginx.conf.")
    parser.add_argument("--target", choices=TARGETS, required=True)
    parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--listen", type=int, default=8080, dest="listen_port")
    parser.add_argument(
        "--upstream",
        type=_parse_upstream,
        action="append",
        default=[],
        metavar="SERVICE=HOST:PORT[,HOST:PORT]",
        help="override one service's replicas; repeat per service",
    )
    parser.add_argument("--max-body-mib", type=int, default=50)
    parser.add_argument("--prefix", type=Path, help="directory for pid and temp files")
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--auth-rate", default="10r/m")
    parser.add_argument("--auth-burst", type=int, default=10)
    parser.add_argument("--general-rate", help="e.g. 50r/s; off unless given")
    parser.add_argument("--general-burst", type=int, default=100)
    parser.add_argument("--proxy-read-timeout", type=int, default=30)
    parser.add_argument(
        "--namespace", help=f"k8s only: the suite's namespace (default {K8S_DEFAULT_NAMESPACE})"
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        dest="trusted_proxies",
        metavar="CIDR",
        help="a load balancer network whose X-Forwarded-For is believed (repeatable)",
    )
    args = parser.parse_args(argv)

    prefix: Path | None = args.prefix
    if prefix is not None and args.target == "local":
        prefix = prefix.resolve()  # container targets name paths inside the container, as given
    try:
        text = render(
            target=args.target,
            listen_port=args.listen_port,
            upstreams=dict(args.upstream),
            max_body_mib=args.max_body_mib,
            prefix=str(prefix) if prefix else None,
            worker_processes=args.worker_processes,
            auth_rate=args.auth_rate,
            auth_burst=args.auth_burst,
            general_rate=args.general_rate,
            general_burst=args.general_burst,
            proxy_read_timeout_s=args.proxy_read_timeout,
            k8s_namespace=args.namespace,
            trusted_proxies=args.trusted_proxies,
        )
    except ValueError as error:
        parser.error(str(error))
    if prefix is not None and args.target == "local":
        prefix.mkdir(parents=True, exist_ok=True)  # nginx creates the temp dirs, not their parent
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

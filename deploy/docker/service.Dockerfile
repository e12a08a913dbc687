# One image per service, from one file: docker build --build-arg SERVICE=todos \
#     -f deploy/docker/service.Dockerfile -t suite/todos .   (context: the repository root)
#
# The same image serves (`api`, the default) and migrates (`migrate`): migrations run as their
# own step (a one-shot container, a Kubernetes Job), never at application start.
#
# No `# syntax=` line: BuildKit would pull that frontend from a registry, and the built-in one of
# Docker >= 20.10 has everything used here (RUN --mount, COPY --chmod).
#
# PYTHON_IMAGE is the official image; the tests build from a stand-in (tests/compose/images).
# A build that reaches the package index only through an intercepting proxy passes that proxy's
# CA bundle as a build secret (--secret id=ca-certificates,src=...): it is mounted for the
# downloading steps only and stays in no layer.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
# The uv that wrote uv.lock; installed from PyPI, like `make bootstrap` does.
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN --mount=type=secret,id=ca-certificates \
    test -n "${SERVICE}" || { echo "--build-arg SERVICE=auth|users|todos|files is required" >&2; exit 1; }; \
    if [ -f /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
    && pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app

# Dependencies first, in their own layer, from the workspace lock file: this layer changes only
# when uv.lock or a pyproject.toml does, not on every source edit. uv needs every member's
# pyproject.toml to read the workspace, but installs only what SERVICE depends on.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/auth/pyproject.toml services/auth/
COPY services/users/pyproject.toml services/users/
COPY services/todos/pyproject.toml services/todos/
COPY services/files/pyproject.toml services/files/
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca-certificates \
    if [ -f /run/secrets/ca-certificates ]; then export SSL_CERT_FILE=/run/secrets/ca-certificates; fi \
    && uv sync --frozen --no-dev --no-install-workspace --package "${SERVICE}-service"

# Then the code: only shared and this service. Members are installed editable, so each
# service finds its migrations beside its source (main.py: parents[2] / "migrations").
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca-certificates \
    if [ -f /run/secrets/ca-certificates ]; then export SSL_CERT_FILE=/run/secrets/ca-certificates; fi \
    && uv sync --frozen --no-dev --package "${SERVICE}-service" \
    && python -m compileall -q shared/src "services/${SERVICE}/src"


FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="suite-${SERVICE}" \
      org.opencontainers.image.description="The suite's ${SERVICE} service (python -m ${SERVICE}_service)" \
      org.opencontainers.image.source="deploy/docker/service.Dockerfile"

# A fixed numeric user, so Kubernetes can check runAsNonRoot. /srv/data is the one writable
# place in the image (the files service's storage volume mounts there); the code is root-owned
# and read-only to the service.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && install -d -o app -g app -m 0750 /srv/data

# Only the virtualenv and the sources leave the builder: no uv, pip cache or build tools.
COPY --from=builder /app /app
COPY --chmod=0755 deploy/docker/service-entrypoint.sh /usr/local/bin/service-entrypoint

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE_MODULE="${SERVICE}_service"
WORKDIR /app
USER 10001:10001
EXPOSE 8000

# Liveness only: it checks nothing outside the process, so a database outage never marks the
# container unhealthy. Compose's depends_on and Kubernetes' readinessProbe use /health/readiness.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/liveness', timeout=2)"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/service-entrypoint"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]

# The gateway: docker build -f deploy/docker/gateway.Dockerfile -t suite/gateway .
#
# nginx with the config rendered from gateway/nginx/nginx.conf.j2 for compose
# (`python -m deploy.render_gateway` writes deploy/gateway/nginx.compose.conf; a test fails when
# it is stale). Kubernetes mounts the k8s rendering from a ConfigMap and points -c at it.
#
# nginx >= 1.27.3: the config re-resolves upstream names (`resolve`), so the gateway follows
# replicas as they come and go. NGINX_IMAGE is the official unprivileged image (docker-compose.yml
# pins the same); the tests build from a stand-in with Debian unstable's nginx (tests/compose).
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.28.0-alpine
FROM ${NGINX_IMAGE}

LABEL org.opencontainers.image.title="suite-gateway" \
      org.opencontainers.image.source="deploy/docker/gateway.Dockerfile"

COPY deploy/gateway/nginx.compose.conf /etc/nginx/nginx.conf
COPY deploy/gateway/openapi.json /etc/nginx/openapi.json

# The unprivileged image's nginx user; pid and temp files go to /tmp (see the config).
USER 101
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]

# SIGQUIT is nginx's graceful stop: open requests finish, idle keep-alive connections close.
STOPSIGNAL SIGQUIT
# nginx itself is PID 1 (no shell, no entrypoint scripts that would rewrite config); `-e stderr`
# keeps it from opening the compiled-in error log path before it reads the config.
ENTRYPOINT ["nginx", "-e", "stderr", "-g", "daemon off;"]
CMD ["-c", "/etc/nginx/nginx.conf"]

#!/bin/sh
# Entrypoint of every service image: `api` (the default command), `migrate`, or any other
# command of `python -m <service>_service`.
#
# Compose secrets are files, but some settings take a value rather than a path (the broker URL,
# the first admin's password, the database password that the driver reads as PGPASSWORD). So,
# as the official database images do, each <SVC>_NAME_FILE (and PGPASSWORD_FILE) in the
# environment sets <SVC>_NAME to that file's content. Only the service's own prefix: other
# *_FILE variables (SSL_CERT_FILE...) are paths and stay as they are. Kubernetes sets such
# values from Secrets directly and needs none of this.
#
# `exec` replaces this shell, so python is PID 1 and receives SIGTERM itself: the service's
# DrainingServer turns readiness to 503, keeps serving for <SVC>_SHUTDOWN_DRAIN_SECONDS, then
# lets in-flight requests finish and exits 0.
set -eu

module="${SERVICE_MODULE:?the image sets SERVICE_MODULE}"
prefix="$(printf '%s' "${module%_service}" | tr '[:lower:]' '[:upper:]')_"

for variable in $(env | sed -n -E "s/^(PGPASSWORD|${prefix}[A-Z0-9_]*)_FILE=.*/\1/p"); do
    path=$(printenv "${variable}_FILE")
    value=$(cat -- "${path}")
    export "${variable}=${value}"
    unset "${variable}_FILE"
done

exec python -m "${module}" "$@"

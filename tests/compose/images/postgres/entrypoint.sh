#!/bin/bash
# The part of the official image's entrypoint that docker-compose.yml uses: initialise an empty
# volume once (superuser password from POSTGRES_PASSWORD_FILE, init scripts against a server on
# the socket only), then run the server on every address.
set -euo pipefail

if [ "${1:-}" = "postgres" ] && [ ! -s "${PGDATA}/PG_VERSION" ]; then
    password_file=${POSTGRES_PASSWORD_FILE:?the stand-in reads the password from a file}
    initdb --username="${POSTGRES_USER:-postgres}" --pwfile="${password_file}" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 -D "${PGDATA}"
    echo "host all all all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
    pg_ctl -D "${PGDATA}" -o "-c listen_addresses=''" -w start
    for script in /docker-entrypoint-initdb.d/*; do
        case "${script}" in
            *.sh) echo "running ${script}"; bash "${script}" ;;
            *.sql) echo "running ${script}"; psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres -f "${script}" ;;
            *) ;;
        esac
    done
    pg_ctl -D "${PGDATA}" -m fast -w stop
    echo "listen_addresses = '*'" >> "${PGDATA}/postgresql.conf"
fi

exec "$@"

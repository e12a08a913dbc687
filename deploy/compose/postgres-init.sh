#!/usr/bin/env bash
# One role and one database per service, created once when the postgres container initialises
# its empty volume (the image runs /docker-entrypoint-initdb.d/*.sh as the postgres user).
# A service's role owns its own database and can connect to no other one, the cluster's own
# databases included; each password comes from a Compose secret made by deploy/make_secrets.py.
# The services are the <service>-db-password secrets mounted here (docker-compose.yml lists them).
# Later changes to this script or to the passwords need a fresh volume (docker compose down -v).
set -euo pipefail

secrets_dir=${SUITE_SECRETS_DIR:-/run/secrets}
psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres)

"${psql[@]}" \
    -c "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC" \
    -c "REVOKE CONNECT ON DATABASE template1 FROM PUBLIC"

for password_file in "${secrets_dir}"/*-db-password; do
    [ -e "${password_file}" ] || continue  # no match: the pattern itself
    service=$(basename "${password_file}" -db-password)
    password=$(<"${password_file}")
    # psql variables quote the identifier (:"role") and the literal (:'password') safely.
    "${psql[@]}" --set=role="${service}" --set=password="${password}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
    echo "created role and database ${service}"
done

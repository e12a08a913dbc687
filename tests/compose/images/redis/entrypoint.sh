#!/bin/sh
# As the official image does: without a config file, Redis 7 would refuse every client that is
# not on loopback (protected mode), and the other containers are not.
set -eu
if [ "${1:-}" = "redis-server" ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi
exec "$@"

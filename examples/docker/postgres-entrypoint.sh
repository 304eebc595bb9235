#!/bin/sh
# PostgreSQL entrypoint for the switchyard base image, modelled on the official postgres image:
#   POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE)  password of POSTGRES_USER; required unless
#                                                  POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER  (default postgres)   superuser created by initdb
#   POSTGRES_DB    (default $POSTGRES_USER) database created on first start
#   PGDATA         (default /var/lib/postgresql/data) the data volume; initialised only when empty
# The server runs in the foreground as the postgres user (no pg_ctl), listening on 0.0.0.0:5432,
# so `docker stop` (send SIGINT: fast shutdown) reaches it directly. Arguments are passed to postgres.
set -eu

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
AUTH="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
export PGDATA

log() { echo "postgres-entrypoint: $*" >&2; }

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { log "no PostgreSQL server in this image (/usr/lib/postgresql/*/bin)"; exit 1; }

# As root: prepare the directories, then run this same script again as postgres.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 2775 /var/run/postgresql
  # Only chown a fresh volume; an existing cluster keeps its ownership (and must be postgres's).
  [ -s "$PGDATA/PG_VERSION" ] || chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
  fi
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$AUTH" != trust ]; then
    log "database is uninitialised and POSTGRES_PASSWORD is not set"
    log "set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust"
    exit 1
  fi
  log "initialising $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
  pwfile=$(mktemp)
  # The password goes through a 0600 temp file, never through argv or the log.
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  "$bindir/initdb" --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$AUTH" -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 %s\nhost all all ::/0 %s\n' "$AUTH" "$AUTH" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # Single-user mode: no server, no socket, no port open before the configuration is final.
    dbname=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
    printf 'CREATE DATABASE "%s";\n' "$dbname" | "$bindir/postgres" --single -j -D "$PGDATA" postgres >/dev/null
  fi
  log "initialised"
fi

exec "$bindir/postgres" -D "$PGDATA" -c listen_addresses='*' -c port=5432 "$@"

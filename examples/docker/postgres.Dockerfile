# PostgreSQL for the example's shared `db` service, from the same local base image (no registry).
# Build context: examples/docker.
#   docker build -f examples/docker/postgres.Dockerfile -t switchyard-example/postgres:15 examples/docker
# Environment as the official postgres image: POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, PGDATA.
ARG BASE=switchyard/base:bookworm
FROM ${BASE}

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
# SIGINT = PostgreSQL's "fast" shutdown: in-flight transactions are rolled back, data is safe.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=2s --timeout=10s --start-period=20s --retries=3 \
  CMD ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]
ENTRYPOINT ["postgres-entrypoint.sh"]
CMD []

# Example API image. Build context: examples/app/api (see README.md in this folder).
#   docker build -f examples/docker/api.Dockerfile -t switchyard-example/api:dev examples/app/api
# BASE is any image with Node.js >= 20 on PATH; tests use the locally built switchyard/base:bookworm
# (scripts/setup-infra.sh), users can pass e.g. --build-arg BASE=node:20-bookworm-slim.
# Run `npm run build` in the repository first: it writes vendor/pg.cjs (the bundled PostgreSQL
# driver, scripts/bundle-example.mjs), which the image copies; nothing is installed in the build.
ARG BASE=switchyard/base:bookworm
FROM ${BASE}

WORKDIR /app
# Only the app's files: a local data/ store or node_modules in the folder stays out of the image.
COPY server.mjs VERSION /app/
COPY store-json.mjs store-postgres.mjs migrate.mjs /app/
COPY vendor/ /app/vendor/

# HOST: the app listens on loopback by default, which a container's port mapping cannot reach.
# DATABASE_URL (set at run time, e.g. by switchyard.yml) selects the PostgreSQL store. Without it the
# API uses its JSON store at STORE_PATH: blue and green share it only when the same volume is
# mounted at /data in both.
ENV PORT=5000 HOST=0.0.0.0 STORE_PATH=/data/store.json
EXPOSE 5000

# No curl in the image: node's fetch does the probe. Short interval so "starting" ends quickly; a
# generous timeout because the probe starts a whole node process, which on a busy 2-core host has
# taken over 2 s three times in a row (Docker then reports "unhealthy" and switchyard refuses the colour).
HEALTHCHECK --interval=2s --timeout=10s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# tini as PID 1 forwards SIGTERM to node (whose handler drains connections) and reaps zombies.
ENTRYPOINT ["tini", "--"]
CMD ["node", "server.mjs"]

# Example frontend image. Build context: examples/app/frontend (see README.md in this folder).
#   docker build -f examples/docker/frontend.Dockerfile -t switchyard-example/frontend:dev examples/app/frontend
# BASE is any image with Node.js >= 20 on PATH; tests use the locally built switchyard/base:bookworm.
ARG BASE=switchyard/base:bookworm
FROM ${BASE}

WORKDIR /app
COPY server.mjs VERSION /app/
COPY public /app/public

# HOST: the app listens on loopback by default, which a container's port mapping cannot reach.
ENV PORT=80 HOST=0.0.0.0
EXPOSE 80

HEALTHCHECK --interval=2s --timeout=10s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["tini", "--"]
CMD ["node", "server.mjs"]

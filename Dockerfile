# ThemisTS container image.
#
#   docker build -t themists .
#   docker run -d --name themis -p 8765:8765 -v themis-data:/data themists
#   docker logs themis        # shows the admin key printed on first start
#
# Two stages: the build stage has the toolchain for native modules
# (hnswlib-node is always compiled from source by node-gyp; classic-level,
# uWebSockets.js and their optional helpers ship prebuilt binaries for
# linux-x64 glibc, the toolchain is the fallback), compiles the TypeScript and
# prunes dev dependencies; the runtime stage carries only node_modules,
# dist/src, dist/console (the web console's bundle), package.json and openapi.yaml.

ARG NODE_VERSION=20

# ------------------------------------------------------------------ build
FROM node:${NODE_VERSION}-bookworm AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# node-gyp compiles against the headers of the Node it builds for. Without
# this it downloads them from nodejs.org (and fails where the build has no
# network); the image has them: the node image unpacks the official tarball,
# include/node included, into /usr/local.
ENV npm_config_nodedir=/usr/local

WORKDIR /app

# Dependencies first, so this layer is reused while only sources change.
# The TypeScript client is an npm workspace (clients/typescript): npm ci needs its package.json.
COPY package.json package-lock.json ./
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --no-audit --no-fund

# tsconfig.json compiles src/ and bench/ (see .dockerignore for what is left out).
COPY . .
RUN npm run build \
 && npm prune --omit=dev

# ------------------------------------------------------------------ runtime
FROM node:${NODE_VERSION}-bookworm-slim AS runtime

ENV NODE_ENV=production \
    THEMIS_DATA_DIR=/data \
    THEMIS_HOST=0.0.0.0 \
    THEMIS_PORT=8765

# Unprivileged user; /data is created and owned by it before VOLUME, so a
# fresh named volume inherits that ownership.
RUN groupadd --system --gid 10001 themis \
 && useradd --system --uid 10001 --gid themis --home-dir /app --no-create-home --shell /usr/sbin/nologin themis \
 && mkdir -p /data \
 && chown themis:themis /data \
 && chmod 0700 /data

WORKDIR /app

# The server locates its package root by looking for package.json and
# openapi.yaml next to dist/ (src/paths.ts); openapi.yaml is also the source
# of the request schemas compiled at start, and what GET /openapi.yaml and
# /openapi.json serve; GET /docs serves its page's assets from
# node_modules/swagger-ui-dist (a runtime dependency, kept by the prune).
# Files stay owned by root (read-only for the server user).
COPY --from=build /app/package.json /app/openapi.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# The web console (GET /ui): the bundle Vite built from console/ (no runtime dependency of its own).
COPY --from=build /app/dist/console ./dist/console
# The client subcommands (themis aql|import|export|backup, docs/cli.md) load @themis-ts/client, a
# workspace package: node_modules/@themis-ts/client links to clients/typescript.
COPY --from=build /app/clients/typescript/package.json ./clients/typescript/
COPY --from=build /app/clients/typescript/dist ./clients/typescript/dist

USER themis

VOLUME /data
EXPOSE 8765

# /health answers 200 once LevelDB is open and readable, 503 otherwise.
# The slim image has no curl: use Node's built-in fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.THEMIS_PORT||8765)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node runs as PID 1 and handles SIGTERM/SIGINT itself (graceful shutdown:
# drain in-flight requests for up to THEMIS_SHUTDOWN_TIMEOUT_MS, default 10 s,
# then close LevelDB). Give `docker stop` more than that: docker stop -t 30.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/cli.js"]

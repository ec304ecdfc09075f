# syntax=docker/dockerfile:1
#
# Coffer image: `docker build -t coffer .` then
#   docker run -p 3000:3000 -v coffer-data:/data coffer
# With no DATABASE_URL / S3_ENDPOINT / MEILI_HOST / REDIS_URL the container runs embedded
# PostgreSQL (as the non-root user below), keeps objects on /data and searches with PostgreSQL.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: every dependency (dev included) and the generated Prisma client -------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# `prisma generate` (the postinstall script) only needs an existing file here, never downloads.
ENV PRISMA_SCHEMA_ENGINE_BINARY=/bin/sh
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY patches ./patches
RUN npm ci --no-audit --no-fund

# ---- build: the Remix/Vite production build into build/ -------------------------------------
FROM deps AS build
COPY . .
# The client's source maps serve only the e2e coverage report (docs/decisions/0029): not shipped.
RUN npm run build && rm -rf build/client-sourcemaps

# ---- prod-deps: production dependencies only ------------------------------------------------
# Dependency install scripts must run (embedded-postgres restores its library symlinks in one),
# but the root postinstall (prisma generate) must not: the client comes from the build stage.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm pkg delete scripts.postinstall \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# poppler-utils: pdftotext, for searching inside PDFs.
# tini forwards signals to node and reaps orphaned processes of the embedded PostgreSQL (-s: also
# when it is not PID 1, as on Fly.io, whose own init starts the entrypoint).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini poppler-utils \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 coffer \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/coffer --shell /usr/sbin/nologin coffer \
 && mkdir -p /data \
 && chown coffer:coffer /data

WORKDIR /app
ENV DATA_DIR=/data NODE_ENV=production PORT=3000
# As `npm start` sets it: glibc returns freed large blocks at once (docs/decisions/0026).
ENV MALLOC_MMAP_THRESHOLD_=131072

COPY --from=prod-deps /app/node_modules ./node_modules
# react-dom and @remix-run/router as patched at install (patches/): prod-deps skips the root postinstall.
COPY --from=deps /app/node_modules/react-dom ./node_modules/react-dom
COPY --from=deps /app/node_modules/@remix-run/router ./node_modules/@remix-run/router
# build/start.js (server.ts compiled), build/migrate.js (scripts/migrate.ts compiled: the Kubernetes
# migration Job and Fly's release command) and the app's build, the SQL migrations the runners
# apply, and the sources the maintenance scripts (npm run db:migrate, keys:rotate, npx coffer) run with tsx.
COPY --from=build /app/build ./build
COPY --from=build /app/app ./app
COPY --from=build /app/server.ts /app/package.json /app/package-lock.json /app/tsconfig.json /app/prisma.config.ts ./
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/scripts ./scripts
# `npx coffer` (fsck, backup, restore, verify, list, prune, dedup, migrate-storage): bin/coffer.mjs
# runs the sources above with tsx.
COPY --from=build /app/bin ./bin

USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
# Same as `npm start`, in one process that receives SIGTERM.
CMD ["node", "build/start.js"]

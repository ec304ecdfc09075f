#!/usr/bin/env bash
# Starts the built Coffer app for the end-to-end tests on a fresh, throw-away data directory
# (embedded PostgreSQL, local disk objects) and removes that directory when the server exits.
# The build must exist already (`npm test` builds before Playwright runs).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f build/server/index.js ] || [ ! -f build/start.js ]; then
  echo "e2e: the production build is missing; run 'npm run build' first" >&2
  exit 1
fi

DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/coffer-e2e.XXXXXX")"
export DATA_DIR
export NODE_ENV=production
export HOST=127.0.0.1
export PORT="${E2E_PORT:-3210}"
export EMBEDDED_PG_PORT="${E2E_PG_PORT:-54391}"
export SESSION_SECRET="e2e-session-secret-0123456789abcdef-not-for-production"
export MAX_UPLOAD_SIZE=200MiB
export LOG_LEVEL="${E2E_LOG_LEVEL:-warn}"
# Every spec comes from 127.0.0.1: per-IP limits would throttle the suite itself.
export RATE_LIMIT_AUTH=100000/1m RATE_LIMIT_SHARE=100000/1m RATE_LIMIT_API=100000/1m RATE_LIMIT_GENERAL=100000/1m
# The tests reach the app by a plain-HTTP address; these must not come from the caller's shell.
unset DATABASE_URL S3_ENDPOINT MEILI_HOST REDIS_URL APP_URL SMTP_URL MAIL_FROM

echo "e2e: starting Coffer on http://127.0.0.1:${PORT} with DATA_DIR=${DATA_DIR}" >&2

child=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    # The server stops embedded PostgreSQL on SIGTERM; give it time before removing its files.
    for _ in $(seq 1 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$child" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Not exec: this shell stays to delete DATA_DIR once the server has gone.
node build/start.js &
child=$!
wait "$child"

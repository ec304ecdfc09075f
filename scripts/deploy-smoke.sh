#!/usr/bin/env bash
# Is the release at BASE_URL healthy? Readiness, then /readyz and the error rate over a window.
# Settings and exit codes: scripts/deploy-smoke.mjs. Used by .github/workflows/deploy.yml.
set -euo pipefail
exec node "$(dirname "$0")/deploy-smoke.mjs" "$@"

#!/usr/bin/env bash
# One stage of the test suite, as a CI job of its own (.github/workflows/ci.yml runs them in
# parallel); `npm test` (scripts/test.sh) runs them all one after another.
#   scripts/ci/stage.sh vitest|e2e|security-scan
# Installs the Debian packages the stage needs when missing (as root), builds when there is no
# production build yet, then runs the stage. In GitHub Actions the failed tests are written to
# the job summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
stage=${1:?usage: scripts/ci/stage.sh vitest|e2e|security-scan}
case "$stage" in vitest | e2e | security-scan) ;; *)
  echo "unknown stage: $stage (vitest, e2e or security-scan)" >&2
  exit 2
  ;;
esac

bash scripts/ensure-test-packages.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f build/start.js ] && [ -f build/server/index.js ] || npm run build --silent

case "$stage" in
  vitest)
    report=$(mktemp -t coffer-vitest.XXXXXX.json)
    code=0
    # With coverage, as in scripts/test.sh: thresholds enforced, reports in coverage/.
    npx vitest run --coverage --reporter=default --reporter=json --outputFile.json="$report" || code=$?
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
      { echo '### vitest'; echo '```'; node scripts/lib/failed-tests.mjs "$report"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
      node scripts/coverage/summary.mjs >>"$GITHUB_STEP_SUMMARY"
    fi
    exit $code
    ;;
  e2e) exec npx playwright test ;;
  security-scan) exec bash scripts/security-scan.sh ;;
esac

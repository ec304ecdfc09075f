#!/usr/bin/env bash
# The whole test suite: unit, integration and contract tests (vitest) against real services
# that the tests start themselves, end-to-end tests (Playwright) in Debian Chromium, then the
# external security scanners (wapiti, testssl.sh) against the running app.
# Every stage runs even when an earlier one failed, so one failure hides no other result; the
# summary lists each stage and the script fails if any did. Only a failed build stops it early:
# every later stage runs the production build.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-test-packages.sh || exit 1
[ -d node_modules ] || npm ci || exit 1

declare -a names=() results=()
vitest_report=""
stage() {
  local name=$1
  shift
  echo "== $name"
  local started=$SECONDS
  "$@"
  local code=$?
  # Interrupted (Ctrl-C, a kill): stop here rather than start the next stage.
  if [ $code -gt 128 ]; then
    echo "== $name interrupted (exit $code)"
    exit $code
  fi
  names+=("$name")
  results+=("$([ $code = 0 ] && echo passed || echo "FAILED (exit $code)") in $((SECONDS - started)) s")
  return $code
}

summary() {
  echo
  echo "== summary"
  local i
  for i in "${!names[@]}"; do printf '   %-60s %s\n' "${names[$i]}" "${results[$i]}"; done
  node scripts/lib/failed-tests.mjs "$vitest_report"
}

if ! stage "build (the HTTP and browser tests run the production build)" npm run build --silent; then
  summary
  exit 1
fi
failed=0
vitest_report=$(mktemp -t coffer-vitest.XXXXXX.json)
# With coverage (docs/pipeline.md#coverage): its summary in the log, reports in coverage/, and
# the run fails when server code falls below the thresholds in vitest.config.ts.
stage "vitest: unit, integration and driver contract tests, with coverage" \
  npx vitest run --coverage --reporter=default --reporter=json --outputFile.json="$vitest_report" || failed=1
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || node scripts/coverage/summary.mjs >>"$GITHUB_STEP_SUMMARY"
stage "playwright: end-to-end in Debian Chromium" npx playwright test || failed=1
stage "security scan: wapiti and testssl.sh against the running app" bash scripts/security-scan.sh || failed=1
summary
exit $failed

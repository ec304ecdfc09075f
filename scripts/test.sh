#!/usr/bin/env bash
# The whole test suite: unit, integration and contract tests (vitest) against real services
# that the tests start themselves, end-to-end tests (Playwright) in Debian Chromium, then the
# external security scanners (wapiti, testssl.sh) against the running app.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-test-packages.sh
[ -d node_modules ] || npm ci

echo "== build (the HTTP and browser tests run the production build)"
npm run build --silent

echo "== vitest: unit, integration and driver contract tests"
npx vitest run

echo "== playwright: end-to-end in Debian Chromium"
npx playwright test

echo "== security scan: wapiti and testssl.sh against the running app"
bash scripts/security-scan.sh

#!/usr/bin/env bash
# `npm run validate`: the quick gates, in order, stopping at the first that fails.
# None of them needs PostgreSQL, redis or Swift.
set -uo pipefail
cd "$(dirname "$0")/.."

for step in typecheck lint format:check lint:layers lint:deploy api:lint test:fast; do
  echo "== validate: npm run $step"
  if ! npm run --silent "$step"; then
    echo "validate FAILED at \`npm run $step\` (the later steps did not run)" >&2
    exit 1
  fi
done
echo "validate passed: typecheck, lint, format:check, lint:layers, lint:deploy, api:lint, test:fast"

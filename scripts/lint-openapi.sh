#!/usr/bin/env bash
# `npm run api:lint`: writes the OpenAPI document to a temporary file and lints it with spectral
# (.spectral.yaml); errors fail, warnings are shown.
set -euo pipefail
cd "$(dirname "$0")/.."
file="$(mktemp -d)/openapi.json"
trap 'rm -rf "$(dirname "$file")"' EXIT
npx vite-node scripts/write-openapi.ts "$file"
npx spectral lint --ruleset .spectral.yaml --fail-severity error "$file"

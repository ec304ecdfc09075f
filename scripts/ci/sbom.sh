#!/usr/bin/env bash
# CycloneDX SBOM (JSON) of the production dependencies, as the image ships them:
#   scripts/ci/sbom.sh coffer-sbom.cdx.json
# Attached to each GitHub release (.github/workflows/release.yml). Needs `npm ci` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: scripts/ci/sbom.sh OUTPUT.json}
npx --no-install cyclonedx-npm --omit dev --output-format JSON --spec-version 1.6 --output-reproducible --validate --output-file "$out"
echo "sbom: $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).components.length)' "$out") components in $out"

#!/usr/bin/env bash
# CycloneDX SBOM (JSON) of the production dependencies, as the image ships them:
#   scripts/ci/sbom.sh coffer-sbom.cdx.json
# Attached to each GitHub release (.github/workflows/release.yml). Needs `npm ci` first.
# npm's own `npm sbom` writes it: no extra package (cyclonedx-npm pulls in libxmljs2, which
# compiles from source where its prebuilt binary cannot be downloaded). npm names the root
# component after the checkout's directory, so the package's name is put back.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: scripts/ci/sbom.sh OUTPUT.json}
npm sbom --omit dev --sbom-format cyclonedx --sbom-type application > "$out.tmp"
node -e '
const fs = require("node:fs");
const [file, out] = process.argv.slice(1);
const sbom = JSON.parse(fs.readFileSync(file, "utf8"));
sbom.metadata.component.name = require("./package.json").name;
fs.writeFileSync(out, JSON.stringify(sbom, null, 2));
console.log(`sbom: ${sbom.components.length} components in ${out}`);
' "$out.tmp" "$out"
rm -f "$out.tmp"

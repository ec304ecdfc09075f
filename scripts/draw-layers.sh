#!/usr/bin/env bash
# Draws the import graph between Coffer's layers (folder level) into docs/images/layers.svg with
# dependency-cruiser's "archi" view: one box per folder, an arrow per import direction, and any
# violation of the layer rules (.dependency-cruiser.cjs) in red. Needs Graphviz (`dot`, Debian's
# graphviz package). Run after moving modules: `npm run docs:layers`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dot >/dev/null || { echo "draw-layers: install Graphviz first (apt-get install graphviz)" >&2; exit 1; }
npx depcruise --config .dependency-cruiser.cjs \
  --include-only '^(app|server\.ts)' \
  --exclude '(\.test\.tsx?$|^app/generated/|^app/types/)' \
  --output-type archi app server.ts |
  sed "s/rankdir=\"LR\"/rankdir=\"TB\"/" |
  dot -Tsvg > docs/images/layers.svg
echo "wrote docs/images/layers.svg"

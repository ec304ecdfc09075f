#!/usr/bin/env bash
# Release notes of TAG from the commit subjects since the previous version tag, as Markdown:
#   scripts/ci/release-notes.sh v1.4.0 > notes.md
# Merge commits are left out; the first release lists every commit.
set -euo pipefail
tag=${1:?usage: scripts/ci/release-notes.sh TAG}
git rev-parse -q --verify "refs/tags/$tag" >/dev/null || { echo "release-notes: no tag $tag" >&2; exit 2; }
previous=$(git describe --tags --abbrev=0 --match 'v[0-9]*' "$tag^" 2>/dev/null || true)
range=${previous:+$previous..}$tag
echo "## Coffer $tag"
echo
if [ -n "$previous" ]; then echo "Changes since $previous:"; else echo "First release:"; fi
echo
git log --no-merges --format='- %s (%h)' "$range"
echo
echo "Upgrading and rolling back: docs/rollback.md."

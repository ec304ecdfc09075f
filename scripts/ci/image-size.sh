#!/usr/bin/env bash
# Prints an image's size and fails above the budget (MiB), for the docker job of CI:
#   scripts/ci/image-size.sh coffer:ci 900
# In GitHub Actions the figure also goes to the job summary.
set -euo pipefail
image=${1:?usage: scripts/ci/image-size.sh IMAGE BUDGET_MIB}
budget=${2:?usage: scripts/ci/image-size.sh IMAGE BUDGET_MIB}
bytes=$(${DOCKER:-docker} image inspect --format '{{.Size}}' "$image")
mib=$(( (bytes + 1048575) / 1048576 ))
line="image $image: $mib MiB (budget $budget MiB)"
echo "$line"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || echo "- $line" >>"$GITHUB_STEP_SUMMARY"
if [ "$mib" -gt "$budget" ]; then
  echo "image-size: $image is over its budget by $((mib - budget)) MiB" >&2
  exit 1
fi

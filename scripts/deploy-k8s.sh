#!/usr/bin/env bash
# Deploys IMAGE with a deploy/k8s overlay, migrations first, and rolls back when the new pods do
# not become ready or scripts/deploy-smoke.sh finds them unhealthy.
#
#   scripts/deploy-k8s.sh production ghcr.io/owner/coffer:1.4.0
#
# 1. Renders the overlay (and its migration/ overlay, if any) with the image set.
# 2. Runs the migration Job and waits for it: migrations are expand-only, so the pods of the
#    previous release keep serving on the new schema. A failed Job stops here; nothing else changed.
# 3. Applies the app and waits for the rollout (maxUnavailable 0: old pods serve until new ones are
#    ready).
# 4. Runs scripts/deploy-smoke.sh against SMOKE_URL (its settings: PROMETHEUS_URL or
#    METRICS_TOKEN, SMOKE_TOKEN, SMOKE_WATCH_SECONDS...). If the rollout or the smoke check fails:
#    `kubectl rollout undo` to the previous ReplicaSet, wait for it, exit 1.
#
# Environment: NAMESPACE (coffer), KUBECTL (kubectl), SMOKE_URL (required), ROLLOUT_TIMEOUT (600s),
# MIGRATION_TIMEOUT (900s). kubectl must already point at the cluster.
set -euo pipefail

overlay=${1:?usage: deploy-k8s.sh OVERLAY IMAGE (e.g. production ghcr.io/owner/coffer:1.4.0)}
image=${2:?usage: deploy-k8s.sh OVERLAY IMAGE}
: "${SMOKE_URL:?set SMOKE_URL to the public URL that deploy-smoke.sh checks}"
namespace=${NAMESPACE:-coffer}
kubectl=${KUBECTL:-kubectl}
root=$(cd "$(dirname "$0")/.." && pwd)
overlay_dir="$root/deploy/k8s/overlays/$overlay"
[[ -f "$overlay_dir/kustomization.yaml" ]] || { echo "deploy-k8s: no overlay $overlay_dir" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log() { echo "deploy-k8s: $*"; }

# `render DIR OUT`: the kustomization at DIR with its coffer image replaced by $image.
render() {
  local dir=$1 out=$2 current name tag
  current=$("$kubectl" kustomize "$dir" | awk '$1 == "image:" || $1 == "-" && $2 == "image:" { print $NF; exit }')
  [[ -n "$current" ]] || { echo "deploy-k8s: no image in $dir" >&2; return 1; }
  name=${image%:*}
  tag=${image##*:}
  mkdir -p "$work/$out"
  cat >"$work/$out/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$work/$out" "$dir")
images:
  - name: ${current%:*}
    newName: $name
    newTag: "$tag"
EOF
  "$kubectl" kustomize "$work/$out" >"$work/$out.yaml"
}

render "$overlay_dir" app
if [[ -d "$overlay_dir/migration" ]]; then
  render "$overlay_dir/migration" migration
  log "migrating with $image"
  "$kubectl" -n "$namespace" delete job coffer-migrate --ignore-not-found --wait=true
  "$kubectl" -n "$namespace" apply -f "$work/migration.yaml"
  if ! "$kubectl" -n "$namespace" wait --for=condition=complete job/coffer-migrate --timeout="${MIGRATION_TIMEOUT:-900s}"; then
    "$kubectl" -n "$namespace" logs job/coffer-migrate --tail=100 || true
    log "FAILED: the migration Job did not complete; the running release is untouched"
    exit 1
  fi
fi

log "rolling out $image"
"$kubectl" -n "$namespace" apply -f "$work/app.yaml"
healthy=true
"$kubectl" -n "$namespace" rollout status deployment/coffer --timeout="${ROLLOUT_TIMEOUT:-600s}" || healthy=false
if $healthy; then bash "$root/scripts/deploy-smoke.sh" "$SMOKE_URL" || healthy=false; fi
if $healthy; then
  log "deployed $image"
  exit 0
fi

log "ROLLING BACK: the new release failed its rollout or smoke check"
"$kubectl" -n "$namespace" rollout undo deployment/coffer
"$kubectl" -n "$namespace" rollout status deployment/coffer --timeout="${ROLLOUT_TIMEOUT:-600s}"
log "rolled back; the schema stays migrated (expand-only, see docs/rollback.md)"
exit 1

#!/usr/bin/env bash
# Runs a command with another Node.js major version first on PATH, e.g.
#   bash scripts/test-on-node.sh 24 npm test
#   bash scripts/test-on-node.sh 20 npx vitest run tests/gc-tuning.test.ts
# The Node binary comes from the npm registry's node-linux-<arch> package (the official build,
# checked against the registry's integrity hash by `npm pack`), so nothing but npm's registry is
# needed. It is kept in NODE_CACHE_DIR (default .cache/node, gitignored) and reused; when the
# registry cannot be reached, the newest cached version of that major is used.
# The package holds only `node`: npm, npx and the project's scripts run on it because they start
# through `#!/usr/bin/env node`. node_modules is not reinstalled: the native dependencies are
# Node-API modules, which load on every Node version.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: $0 <major or exact version, e.g. 24 or 24.21.0> <command> [args...]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
wanted="$1"
shift
[[ "$wanted" =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]] || usage

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "test-on-node: no node-linux package for architecture $(uname -m)" >&2; exit 1 ;;
esac
if [ "$(uname -s)" != Linux ]; then
  echo "test-on-node: only Linux is supported (the registry package is node-linux-$arch)" >&2
  exit 1
fi
package="node-linux-$arch"
cache_dir="${NODE_CACHE_DIR:-$PWD/.cache/node}"
mkdir -p "$cache_dir"

# Newest cached version matching $wanted (major or exact), or nothing.
newest_cached() {
  local dir
  for dir in "$cache_dir"/"$package"-*/; do
    [ -x "${dir}bin/node" ] || continue
    dir="${dir%/}"
    echo "${dir##*/$package-}"
  done | grep -E "^${wanted//./\\.}(\.|$)" | sort -V | tail -n 1 || true
}

# The newest published version of the wanted major, as the registry lists it ([] or "x.y.z").
version=""
if listed="$(npm view "$package@$wanted" version --json 2>/dev/null)"; then
  version="$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$listed" | sort -V | tail -n 1 || true)"
fi
if [ -z "$version" ]; then
  version="$(newest_cached)"
  [ -n "$version" ] || { echo "test-on-node: cannot find $package@$wanted in the npm registry nor in $cache_dir" >&2; exit 1; }
  echo "test-on-node: registry not reachable; using cached Node $version" >&2
fi

node_dir="$cache_dir/$package-$version"
if [ ! -x "$node_dir/bin/node" ]; then
  echo "test-on-node: fetching $package@$version from the npm registry into $cache_dir" >&2
  tmp="$(mktemp -d "$cache_dir/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  tarball="$(cd "$tmp" && npm pack "$package@$version" --silent | tail -n 1)"
  tar -xzf "$tmp/$tarball" -C "$tmp"
  "$tmp/package/bin/node" -e '' # the binary runs on this machine
  # Renamed into place in one step, so a run that stops half-way leaves no partial Node behind.
  mv "$tmp/package" "$node_dir" 2>/dev/null || [ -x "$node_dir/bin/node" ]
  rm -rf "$tmp"
  trap - EXIT
fi

export PATH="$node_dir/bin:$PATH"
echo "test-on-node: running with Node $(node -v) ($node_dir/bin/node): $*" >&2
exec "$@"

#!/usr/bin/env bash
# A throwaway S3-compatible server for tests and local development: single-node, single-replica
# OpenStack Swift with its s3api middleware, from Debian packages, listening on 127.0.0.1 only.
#
#   scripts/s3-test-server.sh start DATA_DIR          prints S3_* env lines, exits 0 once ready
#   scripts/s3-test-server.sh stop  DATA_DIR [--purge]
#   scripts/s3-test-server.sh quota DATA_DIR BUCKET BYTES   caps BUCKET (and its multipart segments) at BYTES
#
#   env: S3_PORT (default 8080)  SWIFT_PORT_BASE (default 6200; uses BASE, BASE+1, BASE+2)
#        S3_REGION (default us-east-1)
#
# Credentials are fixed: access key "test:tester", secret "testing" (Swift tempauth).
set -euo pipefail

PACKAGES="swift swift-proxy swift-account swift-container swift-object"
SERVERS="proxy account container object"
# Swift's own tools run on the system interpreter (a pyenv/venv python3 on PATH lacks the swift module).
PYTHON=/usr/bin/python3

usage() {
  echo "usage: $0 start DATA_DIR | stop DATA_DIR [--purge] | quota DATA_DIR BUCKET BYTES" >&2
  exit 2
}

die() {
  echo "s3-test-server: $*" >&2
  exit 1
}

# ---- install -----------------------------------------------------------------
packages_installed() {
  local ok
  ok=$(dpkg-query -W -f='${Status}\n' $PACKAGES 2>/dev/null | grep -c '^install ok installed$' || true)
  [ "$ok" = 5 ]
}

ensure_installed() {
  packages_installed && return 0
  if [ "$(id -u)" != 0 ]; then
    die "OpenStack Swift is not installed. Run as root:
  apt-get install --no-install-recommends $PACKAGES"
  fi
  echo "s3-test-server: installing $PACKAGES" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' own services from starting with the system-wide /etc/swift configuration.
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local status=0
  { apt-get update -q && apt-get install -y -q --no-install-recommends $PACKAGES; } >&2 || status=$?
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || die "apt-get install $PACKAGES failed"
}

# Swift always reads the hash prefix/suffix and storage policies from this fixed path.
ensure_swift_conf() {
  grep -q '^swift_hash_path_suffix' /etc/swift/swift.conf 2>/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "/etc/swift/swift.conf has no [swift-hash] settings; run this script once as root to write them"
  mkdir -p /etc/swift
  cat >/etc/swift/swift.conf <<'EOF'
[swift-hash]
swift_hash_path_suffix = coffer-test
swift_hash_path_prefix = coffer-test
[storage-policy:0]
name = Policy-0
default = yes
EOF
}

# ---- configuration -------------------------------------------------------------
server_conf() { # port
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = $(id -un)
swift_dir = $ETC
devices = $DEV
mount_check = false
disable_fallocate = true
recon_cache_path = $CACHE
log_level = INFO
EOF
}

write_configs() {
  { server_conf "$ACC_PORT"; printf '[pipeline:main]\npipeline = account-server\n[app:account-server]\nuse = egg:swift#account\n'; } \
    >"$ETC/account-server.conf"
  { server_conf "$CONT_PORT"; printf '[pipeline:main]\npipeline = container-server\n[app:container-server]\nuse = egg:swift#container\n'; } \
    >"$ETC/container-server.conf"
  { server_conf "$OBJ_PORT"; printf '[pipeline:main]\npipeline = object-server\n[app:object-server]\nuse = egg:swift#object\n'; } \
    >"$ETC/object-server.conf"
  { server_conf "$S3_PORT"; cat <<EOF
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth container_quotas copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = $REGION
# Path-style only (no storage_domain); bucket names must be DNS-compliant.
dns_compliant_bucket_names = true
allow_multipart_uploads = true
s3_acl = false
check_bucket_owner = false
# AWS allows 10000 parts and @tus/s3-store relies on it; Swift's default is 1000.
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $SECRET_KEY .admin

[filter:cache]
use = egg:swift#memcache
# tempauth needs the cache middleware but not a memcached. Nothing listens on port 1: a shared
# memcached on 11211 would let parallel test servers see each other's cached account/container info.
memcache_servers = 127.0.0.1:1

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
# Only buckets given a quota (the `quota` command) are limited: a full bucket answers 413 EntityTooLarge.
[filter:container_quotas]
use = egg:swift#container_quotas
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:symlink]
use = egg:swift#symlink
EOF
  } >"$ETC/proxy-server.conf"
}

# One device, one replica, 2^6 partitions per ring (as `swift-ring-builder create 6 1 1; add; rebalance`).
# The ports live in the rings, so they are rebuilt on every start.
build_rings() {
  "$PYTHON" - "$ETC" "$ACC_PORT" "$CONT_PORT" "$OBJ_PORT" <<'PY'
import sys
from swift.common.ring import RingBuilder
etc, acc, cont, obj = sys.argv[1], *map(int, sys.argv[2:])
for name, port in (("account", acc), ("container", cont), ("object", obj)):
    b = RingBuilder(6, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 1,
               "meta": "", "replication_ip": "127.0.0.1", "replication_port": port})
    b.rebalance()
    b.get_ring().save("%s/%s.ring.gz" % (etc, name))
PY
}

# Swift listens with SO_REUSEPORT, so a second server on a busy port starts "fine" and the kernel
# silently splits traffic between both. Refuse instead.
check_ports_free() {
  "$PYTHON" - "$@" <<'PY'
import sys, socket
busy = []
for p in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(p)), timeout=1).close()
        busy.append(p)
    except OSError:
        pass
if busy:
    sys.stderr.write("s3-test-server: port(s) already in use on 127.0.0.1: %s (set S3_PORT / SWIFT_PORT_BASE)\n" % " ".join(busy))
    sys.exit(1)
PY
}

# A signed (SigV2) ListBuckets answering 200 proves s3api, tempauth and all three backend servers work.
s3_answers() {
  "$PYTHON" - "$S3_PORT" "$ACCESS_KEY" "$SECRET_KEY" >/dev/null 2>&1 <<'PY'
import sys, hmac, hashlib, base64, email.utils, urllib.request
port, ak, sk = sys.argv[1:]
date = email.utils.formatdate(usegmt=True)
sig = base64.b64encode(hmac.new(sk.encode(), ("GET\n\n\n%s\n/" % date).encode(), hashlib.sha1).digest()).decode()
req = urllib.request.Request("http://127.0.0.1:%s/" % port, headers={"Date": date, "Authorization": "AWS %s:%s" % (ak, sig)})
r = urllib.request.urlopen(req, timeout=3)
assert r.status == 200 and b"ListAllMyBucketsResult" in r.read()
PY
}

is_running() { # name
  [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null
}

# ---- commands --------------------------------------------------------------------
set_paths() {
  DATA="$(realpath -m "$1")"
  ETC="$DATA/etc"; DEV="$DATA/srv"; RUN="$DATA/run"; LOG="$DATA/log"; CACHE="$DATA/cache"
}

cmd_start() {
  S3_PORT="${S3_PORT:-8080}"
  local base="${SWIFT_PORT_BASE:-6200}"
  OBJ_PORT=$base; CONT_PORT=$((base + 1)); ACC_PORT=$((base + 2))
  REGION="${S3_REGION:-us-east-1}"
  ACCESS_KEY="test:tester"
  SECRET_KEY="testing"

  ensure_installed
  ensure_swift_conf
  mkdir -p "$ETC" "$DEV/d1" "$RUN" "$LOG" "$CACHE"
  for s in $SERVERS; do
    is_running "$s" && die "already running in $DATA ($s pid $(cat "$RUN/$s.pid")); stop it first"
  done
  check_ports_free "$S3_PORT" "$OBJ_PORT" "$CONT_PORT" "$ACC_PORT" || exit 1
  write_configs
  build_rings

  # From here on, a failed start must not leave servers behind.
  trap 'cmd_stop >/dev/null 2>&1 || true' EXIT
  local name
  for name in object container account proxy; do
    nohup "swift-$name-server" "$ETC/$name-server.conf" --verbose >>"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
  done

  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    for s in $SERVERS; do
      if ! is_running "$s"; then
        echo "s3-test-server: swift $s server died; end of $LOG/$s.log:" >&2
        tail -n 30 "$LOG/$s.log" >&2
        exit 1
      fi
    done
    if s3_answers; then
      trap - EXIT
      echo "S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
      echo "S3_ACCESS_KEY=$ACCESS_KEY"
      echo "S3_SECRET_KEY=$SECRET_KEY"
      echo "S3_REGION=$REGION"
      echo "S3_FORCE_PATH_STYLE=true"
      exit 0
    fi
    sleep 0.1
  done
  die "the S3 endpoint did not answer within 60 s; logs in $LOG"
}

cmd_stop() {
  local s pid
  for s in $SERVERS; do
    [ -f "$RUN/$s.pid" ] || continue
    pid=$(cat "$RUN/$s.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$s.pid"
  done
  echo "s3-test-server: stopped swift in $DATA"
}

# The S3 API cannot set a bucket quota and tempauth's Swift tokens need a memcached, so this goes
# through Swift's internal client (an in-process proxy on the same rings), as Swift's own daemons do.
cmd_quota() { # bucket bytes
  [ -f "$ETC/proxy-server.conf" ] || die "no server in $DATA"
  "$PYTHON" - "$ETC" "$1" "$2" <<'PY'
import sys, tempfile
from swift.common.internal_client import InternalClient
etc, bucket, quota = sys.argv[1:]
conf = '''[DEFAULT]
swift_dir = %s
[pipeline:main]
pipeline = catch_errors cache proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:1
[filter:catch_errors]
use = egg:swift#catch_errors
''' % etc
with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
    f.write(conf)
    f.flush()
    client = InternalClient(f.name, "coffer-test-quota", 3)
    # s3api keeps multipart parts in "<bucket>+segments" until they are completed.
    for container in (bucket, bucket + "+segments"):
        # AUTH_test: the account of tempauth's user test:tester, whose buckets these are.
        client.create_container("AUTH_test", container, {"X-Container-Meta-Quota-Bytes": quota})
PY
}

[ $# -ge 2 ] || usage
command="$1"
set_paths "$2"
case "$command" in
  start) [ $# = 2 ] || usage; cmd_start ;;
  stop)
    case "${3:-}" in
      "") cmd_stop ;;
      --purge) cmd_stop; rm -rf "$DATA" ;;
      *) usage ;;
    esac
    ;;
  quota) [ $# = 4 ] || usage; cmd_quota "$3" "$4" ;;
  *) usage ;;
esac

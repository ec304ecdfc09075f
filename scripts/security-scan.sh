#!/usr/bin/env bash
# External scanners against the running production build: wapiti (web application scanner)
# crawls and attacks the app as a signed-in user, and testssl.sh checks Coffer's own TLS
# listener. Both print their findings; the script fails on a wapiti finding rated medium or
# higher, on a server error that wapiti provoked, or on a testssl finding rated HIGH or CRITICAL.
# The build must exist (`npm test` builds first). Needs the Debian packages wapiti and testssl.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${SCAN_PORT:-3297}"
PG_PORT="${SCAN_PG_PORT:-54397}"
# Crawl time, then attack time per module (10 modules): about 5 minutes of wapiti on 2 cores.
WAPITI_MAX_SCAN_SECONDS="${WAPITI_MAX_SCAN_SECONDS:-90}"
WAPITI_MAX_ATTACK_SECONDS="${WAPITI_MAX_ATTACK_SECONDS:-20}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/coffer-scan.XXXXXX")"
# The embedded PostgreSQL runs as its own OS user when started by root: it must reach DATA_DIR.
chmod 755 "$WORK"
BASE="https://127.0.0.1:${PORT}"

for tool in wapiti testssl openssl curl; do
  command -v "$tool" >/dev/null || { echo "security scan: '$tool' is missing; run scripts/ensure-test-packages.sh as root" >&2; exit 1; }
done
[ -f build/server/index.js ] || { echo "security scan: build/server/index.js is missing; run 'npm run build' first" >&2; exit 1; }

server=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    # The server stops embedded PostgreSQL on SIGTERM; give it time before removing its files.
    for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

echo "== security scan: a certificate from a throwaway CA and a fresh Coffer on ${BASE}"
# A throwaway CA that testssl is told to trust, and a server certificate it signs that names
# revocation endpoints, so testssl judges Coffer's TLS rather than a bare self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Coffer scan CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$WORK/ca-key.pem" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/server.csr" 2>/dev/null
cat >"$WORK/server.ext" <<'EXT'
subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
crlDistributionPoints=URI:http://127.0.0.1/coffer-scan-ca.crl
authorityInfoAccess=OCSP;URI:http://127.0.0.1/ocsp,caIssuers;URI:http://127.0.0.1/coffer-scan-ca.pem
EXT
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca-key.pem" -CAcreateserial -days 365 \
  -extfile "$WORK/server.ext" -out "$WORK/cert.pem" 2>/dev/null

(
  unset DATABASE_URL S3_ENDPOINT MEILI_HOST REDIS_URL TRUST_PROXY
  export NODE_ENV=production HOST=127.0.0.1 PORT="$PORT" EMBEDDED_PG_PORT="$PG_PORT"
  export DATA_DIR="$WORK/data" APP_URL="$BASE" LOG_LEVEL=error
  export SESSION_SECRET="scan-session-secret-0123456789abcdef-not-for-production"
  export TLS_CERT_FILE="$WORK/cert.pem" TLS_KEY_FILE="$WORK/key.pem"
  exec node build/start.js
) >"$WORK/server.log" 2>&1 &
server=$!

for _ in $(seq 1 240); do
  curl -ksf "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "security scan: Coffer did not start" >&2; exit 1; }
  sleep 0.5
done
curl -ksf "$BASE/healthz" >/dev/null || { cat "$WORK/server.log" >&2; echo "security scan: Coffer did not become healthy" >&2; exit 1; }

# A signed-in user with a folder and a file, so the scan reaches the private pages and forms.
# Like a browser: the register page sets the CSRF cookie, and every form posts its token first.
curl -ks -o "$WORK/register.html" -c "$WORK/cookies.txt" "$BASE/register"
token="$(grep -o 'name="_csrf" value="[^"]*"' "$WORK/register.html" | head -n 1 | sed 's/.*value="//; s/"$//')"
[ -n "$token" ] || { echo "security scan: the register page has no CSRF token" >&2; exit 1; }
curl -ks -o /dev/null -b "$WORK/cookies.txt" -c "$WORK/cookies.txt" -H "Origin: $BASE" \
  --data-urlencode "_csrf=$token" --data-urlencode "name=Scan User" --data-urlencode "email=scan@example.com" \
  --data-urlencode "password=violet-harbour-lantern-8841" "$BASE/register"
session="$(awk '$6 ~ /coffer_session$/ { print $6 "=" $7 }' "$WORK/cookies.txt")"
csrf="$(awk '$6 ~ /coffer_csrf$/ { print $6 "=" $7 }' "$WORK/cookies.txt")"
[ -n "$session" ] && [ -n "$csrf" ] || { echo "security scan: could not register the scan user (cookies: $(awk '$6 ~ /coffer/ { print $6 }' "$WORK/cookies.txt" | tr '\n' ' '))" >&2; exit 1; }
# Both cookies go with every scanner request, so the forms it submits carry a valid token.
cookie="$session; $csrf"
# Registering signed in, which renewed the token: take the new one from a page.
token="$(curl -ks -b "$cookie" "$BASE/files" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')"
[ -n "$token" ] || { echo "security scan: the files page has no CSRF token" >&2; exit 1; }
curl -ks -o /dev/null -b "$cookie" -H "Origin: $BASE" --data-urlencode "_csrf=$token" --data "intent=create-folder&name=Reports" "$BASE/files"
printf 'quarterly numbers\n' >"$WORK/notes.txt"
curl -ks -o /dev/null -b "$cookie" -H "Origin: $BASE" -F "_csrf=$token" -F "file=@$WORK/notes.txt" "$BASE/files"
[ "$(curl -ks -b "$cookie" "$BASE/files" | grep -c 'notes.txt')" -gt 0 ] || { echo "security scan: could not upload the scan user's file" >&2; exit 1; }

echo "== wapiti: crawl and attack ${BASE} as a signed-in user (crawl ${WAPITI_MAX_SCAN_SECONDS}s, ${WAPITI_MAX_ATTACK_SECONDS}s per module; no ssrf: it needs the internet)"
# Debian's wapiti 3.0.4 cannot take -x (its exclusion pattern fails on Python 3.11), so the
# attacks may submit the logout form and continue signed out: the crawl itself is signed in.
# Debian's wapiti advertises brotli but cannot decode it, so it is told to ask for gzip only.
# Start from the pages behind the root redirect too: the crawler does not follow it.
starts=()
for page in /files /search?q=notes /shares /shared /trash /login /register; do starts+=(-s "$BASE$page"); done
wapiti -u "$BASE/" --scope folder "${starts[@]}" \
  -m "blindsql,cookieflags,crlf,csp,exec,file,http_headers,permanentxss,redirect,sql,xss" \
  -H "Cookie: $cookie" -H "Accept-Encoding: gzip, deflate" \
  --flush-session --store-session "$WORK/wapiti-session" --store-config "$WORK/wapiti-config" \
  --max-scan-time "$WAPITI_MAX_SCAN_SECONDS" --max-attack-time "$WAPITI_MAX_ATTACK_SECONDS" --max-links-per-page 40 -d 4 -t 20 \
  --verify-ssl 0 --no-bugreport -v 1 -f json -o "$WORK/wapiti.json" || true
[ -s "$WORK/wapiti.json" ] || { echo "security scan: wapiti wrote no report" >&2; exit 1; }

echo "== testssl.sh: Coffer's TLS listener on ${BASE}"
testssl --quiet --color 0 --warnings off --add-ca "$WORK/ca.pem" --ip 127.0.0.1 --connect-timeout 10 --openssl-timeout 10 \
  --protocols --server-defaults --server-preference --std --headers --vulnerable \
  --jsonfile "$WORK/testssl.json" "$BASE" || true
[ -s "$WORK/testssl.json" ] || { echo "security scan: testssl.sh wrote no report" >&2; exit 1; }

node scripts/security-scan-report.mjs "$WORK/wapiti.json" "$WORK/testssl.json"

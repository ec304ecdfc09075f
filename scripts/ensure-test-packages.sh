#!/usr/bin/env bash
# Makes sure the Debian packages the test suite runs for real are present: redis-server,
# Chromium (Playwright drives Debian's build; it never downloads a browser) and OpenStack
# Swift (the S3-compatible server), and the security scanners wapiti and testssl.sh
# (scripts/security-scan.sh), and poppler-utils (pdftotext, content search of PDFs), and
# Prometheus and Alertmanager (promtool, amtool and the monitoring integration test of
# deploy/monitoring), and HAProxy (the rolling-restart test, tests/deploy/rolling-restart.test.ts, and
# bench:load with two instances), and ClamAV's daemon (clamd, tests/setup/clamd.ts: it runs
# offline with a signature database the tests write). Installs them when missing and running as root;
# otherwise says exactly what to install.
set -euo pipefail

PACKAGES=(redis-server chromium swift swift-proxy swift-account swift-container swift-object wapiti testssl.sh openssl curl poppler-utils prometheus prometheus-alertmanager haproxy litmus rclone clamav-daemon)
missing=()
for pkg in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "The test suite needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "Installing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own services (swift, redis, prometheus) from starting with their default configs.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

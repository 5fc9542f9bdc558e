#!/usr/bin/env bash
# Installs what the tests drive for real: the FTP peers (curl, lftp, Python's
# ftplib; vsftpd, pyftpdlib, pure-ftpd), and the services and tools of the
# later tests (PostgreSQL, HAProxy, Chromium, the Prometheus text parser).
# Idempotent, and quick when everything is there.
#
#   bash tests/install_deps.sh           install what is missing (root, Debian)
#   bash tests/install_deps.sh --ensure  what `deno task test` runs first: nothing
#        when all is there; installs when it can (root with apt-get); otherwise
#        names what is missing and how to install it, and fails (exit 1) unless
#        FERRY_INTEROP_ALLOW_MISSING=1 (then the tests that need it are ignored).
#
# pure-ftpd's Debian package conflicts with vsftpd's, so it is downloaded and
# unpacked into $FERRY_PEERS_DIR (default /var/cache/ferry-peers) instead of
# installed; tests/interop/servers.ts runs it from there.
set -euo pipefail

PEERS_DIR="${FERRY_PEERS_DIR:-/var/cache/ferry-peers}"
PACKAGES=(vsftpd python3 python3-pyftpdlib curl lftp openssl
  libsodium23 libcap2 libpam0g libssl3 libcrypt1 libpam-modules
  postgresql haproxy chromium fonts-liberation python3-prometheus-client logrotate)

package_missing() {
  ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

all_there() {
  command -v dpkg-query >/dev/null 2>&1 || return 1
  for package in "${PACKAGES[@]}"; do
    if package_missing "$package"; then return 1; fi
  done
  [ -x "$PEERS_DIR/pure-ftpd/usr/sbin/pure-ftpd" ] && [ -x "$PEERS_DIR/pure-ftpd/usr/bin/pure-pw" ] &&
    id -u ferrytest >/dev/null 2>&1
}

if [ "${1:-}" = "--ensure" ]; then
  if all_there; then exit 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_deps.sh: the tests need FTP peers and services that are not installed." >&2
    echo "  Install them (Debian, as root): sudo bash tests/install_deps.sh" >&2
    if [ "${FERRY_INTEROP_ALLOW_MISSING:-}" = 1 ] && [ "${CI:-}" != true ]; then
      echo "  FERRY_INTEROP_ALLOW_MISSING=1: the tests that need them are reported as ignored." >&2
      exit 0
    fi
    echo "  Or set FERRY_INTEROP_ALLOW_MISSING=1 to run the rest and report those as ignored." >&2
    exit 1
  fi
  echo "install_deps.sh: installing the missing test dependencies (apt-get)" >&2
elif [ "$(id -u)" != 0 ]; then
  echo "install_deps.sh: must run as root" >&2
  exit 1
fi

updated=no
apt_update() {
  if [ "$updated" = no ]; then
    apt-get update -qq
    updated=yes
  fi
}

missing=()
for package in "${PACKAGES[@]}"; do
  if package_missing "$package"; then missing+=("$package"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update
  # Keep the packages' init scripts from starting daemons on port 21.
  policy_created=no
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=yes
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ "$policy_created" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [ ! -x "$PEERS_DIR/pure-ftpd/usr/sbin/pure-ftpd" ] || [ ! -x "$PEERS_DIR/pure-ftpd/usr/bin/pure-pw" ]; then
  mkdir -p "$PEERS_DIR"
  cd "$PEERS_DIR"
  rm -f pure-ftpd_*.deb
  if ! apt-get download pure-ftpd 2>/dev/null; then
    apt_update
    apt-get download pure-ftpd
  fi
  rm -rf "$PEERS_DIR/pure-ftpd"
  dpkg -x pure-ftpd_*.deb "$PEERS_DIR/pure-ftpd"
  cd - >/dev/null
fi
"$PEERS_DIR/pure-ftpd/usr/sbin/pure-ftpd" --help >/dev/null 2>&1 || {
  echo "install_deps.sh: the unpacked pure-ftpd does not run" >&2
  exit 1
}

# The system user vsftpd logs in (servers.ts also makes sure of it).
if ! id -u ferrytest >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /var/lib/ferrytest \
    --shell /usr/sbin/nologin ferrytest
fi
mkdir -p /var/lib/ferrytest
chown ferrytest:ferrytest /var/lib/ferrytest

echo "install_deps.sh: FTP peers, PostgreSQL, HAProxy and Chromium ready" >&2

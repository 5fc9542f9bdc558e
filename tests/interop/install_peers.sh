#!/usr/bin/env bash
# Installs the real FTP peers the interop tests drive: the clients (curl,
# lftp, Python's ftplib) and the servers (vsftpd, pyftpdlib, pure-ftpd).
# Idempotent; needs root (as in CI). Usage: bash tests/interop/install_peers.sh
#
# pure-ftpd's Debian package conflicts with vsftpd's, so it is downloaded and
# unpacked into $FERRY_PEERS_DIR (default /var/cache/ferry-peers) instead of
# installed; tests/interop/servers.ts runs it from there.
set -euo pipefail

PEERS_DIR="${FERRY_PEERS_DIR:-/var/cache/ferry-peers}"
PACKAGES=(vsftpd python3 python3-pyftpdlib python3-prometheus-client logrotate curl lftp openssl
  libsodium23 libcap2 libpam0g libssl3 libcrypt1 libpam-modules)

if [ "$(id -u)" != 0 ]; then
  echo "install_peers.sh: must run as root" >&2
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
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
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
  echo "install_peers.sh: the unpacked pure-ftpd does not run" >&2
  exit 1
}

# The system user vsftpd logs in (servers.ts also makes sure of it).
if ! id -u ferrytest >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /var/lib/ferrytest \
    --shell /usr/sbin/nologin ferrytest
fi
mkdir -p /var/lib/ferrytest
chown ferrytest:ferrytest /var/lib/ferrytest

echo "install_peers.sh: vsftpd, pyftpdlib, pure-ftpd ($PEERS_DIR/pure-ftpd), curl, lftp ready"

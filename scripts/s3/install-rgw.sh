#!/usr/bin/env bash
# Install the Debian packages for a single-node Ceph RGW test server (idempotent).
# Used by tests marked `s3` (tests/media/test_storage.py) and by CI; needs root (or sudo) and apt.
set -euo pipefail

PKGS=(radosgw ceph-mon ceph-osd uuid-runtime)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-rgw: already installed: ${PKGS[*]}"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-rgw: installed ${missing[*]}"

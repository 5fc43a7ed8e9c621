#!/usr/bin/env bash
# Install the system packages the tests need (idempotent; root; Debian). Each test starts and stops its own
# service instance on a free loopback port; this script only makes sure the programs are on the machine.
set -euo pipefail

APT_UPDATED=0
ensure_apt() {  # ensure_apt BINARY_OR_PATH PACKAGE...
  local probe="$1"; shift
  if command -v "$probe" >/dev/null 2>&1 || [ -e "$probe" ]; then return 0; fi
  if [ "$(id -u)" != "0" ]; then echo "install-services: need root to install $*" >&2; return 1; fi
  if [ "$APT_UPDATED" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- burned-in text redaction (issue 9) ---

# --- DICOMweb server for storage tests (issue 7) ---
# Orthanc and its DICOMweb plugin; tests/storage starts each server itself on a free loopback port. The Debian
# package's own service is not used (policy-rc.d or no init in containers); stop it if an init system started it.
ensure_apt /usr/share/orthanc/plugins/libOrthancDicomWeb.so orthanc orthanc-dicomweb
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet orthanc 2>/dev/null; then
  systemctl stop orthanc || true
fi

# --- headless browser for the run report test (issue 10) ---
ensure_apt chromium chromium

#!/usr/bin/env bash
# The README's first command: deidflow installed into a virtual environment (.venv; a stock Debian/Ubuntu Python
# refuses `pip install` into the system interpreter, PEP 668), then the demo job on generated sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  # Debian and Ubuntu ship venv's pip bootstrap separately, as python3-venv.
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    echo "demo: python3 cannot create a virtual environment; install it first: sudo apt-get install python3-venv" >&2
    exit 2
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check .
exec .venv/bin/deidflow demo "$@"

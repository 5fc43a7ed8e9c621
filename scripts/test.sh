#!/usr/bin/env bash
# Install the test dependencies, start nothing globally (each test starts the services it needs), run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ -x scripts/install-services.sh ]; then bash scripts/install-services.sh; fi
exec python3 -m pytest -n 2 -q "$@"

#!/usr/bin/env bash
# Install the test dependencies, start nothing globally (each test starts the services it needs), run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ -x scripts/install-services.sh ]; then bash scripts/install-services.sh; fi
# Services the tests need are installed above: a test that finds one missing fails instead of skipping.
export CI="${CI:-1}"
# The mutation check first (so pytest's summary stays the run's closing line): targeted mutations of a copy of the
# code must each make the fast unit tests fail.
if [ "$#" -eq 0 ]; then python3 scripts/mutate.py; fi
python3 -m pytest -n 2 -q "$@"

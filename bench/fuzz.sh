#!/usr/bin/env bash
# The fuzz tests, long: many more examples than `make test` runs, freshly drawn each time
# (Hypothesis profile "long", see tests/conftest.py).  Run from the repository after `make install`:
#     bash bench/fuzz.sh            # every fuzz test
#     bash bench/fuzz.sh -k fhir    # one area
set -euo pipefail
cd "$(dirname "$0")/.."
YILIAN_FUZZ=long exec .venv/bin/pytest -q -p no:cacheprovider -k fuzz "$@" tests

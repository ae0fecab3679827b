#!/usr/bin/env bash
# The tests of a process that never configures Django (tests/flask): their own pytest run,
# without pytest-django (which would configure tests.settings) and without the conftest files
# above tests/flask. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/pytest" tests/flask -p no:django --confcutdir tests/flask \
    -W ignore::pytest.PytestConfigWarning -q "$@"

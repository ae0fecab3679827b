#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: lint, unit tests, then the integration
# tests with a real worker once per service set-up; then the same on Django 6.x where a
# Python 3.12+ interpreter is available.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-services.sh
scripts/venv.sh .venv python3

.venv/bin/ruff check django_jobtastic tests bench
.venv/bin/ruff format --check django_jobtastic tests bench
.venv/bin/mypy django_jobtastic

run_suite() {  # venv
    local venv=$1
    rm -f .coverage
    "$venv/bin/pytest" tests --ignore=tests/integration --cov --cov-report= -q
    for backend in redis rabbitmq embedded; do
        echo "== integration tests against: $backend"
        JOBTASTIC_TEST_BACKEND=$backend "$venv/bin/pytest" tests/integration \
            --cov --cov-append --cov-report= -q
    done
    "$venv/bin/coverage" report --fail-under=95
}

run_suite .venv

newer_python=$(ls -d "$HOME"/.pyenv/versions/3.1[23]*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$newer_python" ]; then
    echo "== Django 6.x on $("$newer_python" --version)"
    scripts/venv.sh .venv-django6 "$newer_python" "Django>=6.0,<7"
    run_suite .venv-django6
else
    echo "== no Python 3.12+ found: the Django 6.x leg is skipped on this machine"
fi

#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: lint, the widget's JS tests and its
# build-freshness check, unit tests, the integration tests with a real worker once per
# service set-up, and the example project in Chromium. Then the Python suites again on
# Django 6.x (embedded set-up) where a Python 3.12+ interpreter is available, and a
# compatibility leg on the oldest supported versions (Django 4.2, Celery 5.3), embedded too.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-services.sh
command -v npm >/dev/null || scripts/apt-install.sh nodejs npm
scripts/apt-install.sh chromium  # the browser tests drive Debian's Chromium
make lint  # also sets up .venv with the test and lint extras
make docs

echo "== the widget: JS unit tests and the build-freshness check"
npm ci --no-audit --no-fund --loglevel=error
npm test

run_suite() {  # venv backend...: unit tests, then integration tests per backend (coverage)
    local venv=$1
    shift
    rm -f .coverage .coverage.*
    "$venv/bin/pytest" tests --ignore=tests/integration --ignore=tests/browser \
        --cov --cov-report= -q
    for backend in "$@"; do
        echo "== $venv: integration tests against $backend"
        JOBTASTIC_TEST_BACKEND=$backend "$venv/bin/pytest" tests/integration \
            --cov --cov-append --cov-report= -q
    done
}

pyenv_python() {  # the newest ~/.pyenv interpreter matching a version glob, if any
    ls -d "$HOME"/.pyenv/versions/$1/bin/python 2>/dev/null | sort -V | tail -n 1 || true
}

side_leg() {  # venv: unit and embedded integration tests, without coverage
    echo "== $1: unit tests"
    "$1/bin/pytest" tests --ignore=tests/integration --ignore=tests/browser -q -p no:cacheprovider
    echo "== $1: integration tests against embedded"
    JOBTASTIC_TEST_BACKEND=embedded "$1/bin/pytest" tests/integration -q -p no:cacheprovider
}

side_legs() {  # the Django 6.x leg (Python 3.12+, where one is installed), then the oldest one
    local newer_python oldest_python
    newer_python=$(pyenv_python "3.1[23]*")
    if [ -n "$newer_python" ]; then
        echo "== Django 6.x on $("$newer_python" --version)"
        scripts/venv.sh .venv-django6 "$newer_python" test "Django>=6.0,<7"
        side_leg .venv-django6
    else
        echo "== no Python 3.12+ found: the Django 6.x leg is skipped on this machine"
    fi
    oldest_python=$(pyenv_python "3.10*")
    echo "== compatibility leg: Django 4.2, Celery 5.3 on $("${oldest_python:-python3}" --version)"
    scripts/venv.sh .venv-compat "${oldest_python:-python3}" test \
        "Django>=4.2,<5" "celery[redis]>=5.3,<5.4" "kombu>=5.3,<5.4" "django-celery-results>=2.5,<2.6"
    # On the django-db result backend: Celery 5.3's Redis result backend can deadlock the
    # reading process (an AsyncResult.__del__ unsubscribing inside another call on the same
    # connection).
    side_leg .venv-compat
}

# The other Django and Celery versions run beside the main leg, on the embedded set-up (what
# differs between versions: django-db results, sessions, the ORM; the brokers are the main
# leg's, on the same Celery) with a Redis server, folders and ports of their own: nothing
# they touch is the main leg's, so they hold no services lock. The whole run stays under
# 20 minutes this way; the legs one after the other took 27.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
side_port=$(free_port)
mkdir -p var/side
redis-server --daemonize yes --bind 127.0.0.1 --port "$side_port" --save "" --appendonly no \
    --dir "$PWD/var/side" --logfile redis.log --pidfile "$PWD/var/side/redis.pid"
side_log=var/side-legs.log
export -f side_legs side_leg pyenv_python
JOBTASTIC_TEST_REDIS="redis://127.0.0.1:$side_port" JOBTASTIC_TEST_VAR="$PWD/var/side" \
    JOBTASTIC_TEST_VOLATILE_PORT=$(free_port) setsid bash -c 'set -euo pipefail; side_legs' \
    >"$side_log" 2>&1 &
side_pid=$!
stop_side_legs() {  # on any exit: the side legs' processes and their Redis server
    kill -- -"$side_pid" 2>/dev/null || true
    kill "$(cat var/side/redis.pid 2>/dev/null)" 2>/dev/null || true
}
trap stop_side_legs EXIT

run_suite .venv redis rabbitmq embedded
echo "== .venv: without Django settings (a Celery app's own configuration, Flask) on Redis"
scripts/test-flask.sh --cov --cov-append --cov-report=
echo "== .venv: the example project in Chromium (uvicorn and a worker, embedded set-up)"
.venv/bin/pytest tests/browser --cov --cov-append --cov-report= -q
.venv/bin/coverage report --fail-under=95
echo "== .venv: the short soak, faults while clients follow jobs (tests/soak/short.py, about 2 min)"
scripts/venv.sh .venv python3 test,lint,bench  # bench: gunicorn
.venv/bin/pytest tests/soak/short.py -q

echo "== the side legs (run beside the main one; their output, from $side_log)"
side_status=0
wait "$side_pid" || side_status=$?
cat "$side_log"
exit "$side_status"

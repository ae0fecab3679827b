#!/usr/bin/env bash
# `make demo`: the example project (uvicorn) and a Celery worker, on the embedded set-up (no server
# needed) or on Redis when REDIS_URL is set. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/venv.sh .venv python3 demo  # the package, its redis extra, and uvicorn
export EXAMPLE_VAR="${EXAMPLE_VAR:-$PWD/var/demo}"
port="${PORT:-8000}"
manage=(.venv/bin/python example_project/manage.py)

"${manage[@]}" migrate --noinput -v 0
"${manage[@]}" createcachetable

.venv/bin/celery --workdir example_project -A example_project worker \
    -l INFO -c 2 -f "$EXAMPLE_VAR/worker.log" &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null || true' EXIT INT TERM

echo
echo "  django-jobtastic demo: http://127.0.0.1:$port/  (worker log: $EXAMPLE_VAR/worker.log)"
echo "  ${REDIS_URL:+broker, results and cache on $REDIS_URL}${REDIS_URL:-embedded: filesystem broker, results and cache in SQLite under $EXAMPLE_VAR}"
echo "  Ctrl-C stops the server and the worker."
echo
# Under ASGI, so the widget is sent pushed updates (runserver would make it poll).
.venv/bin/python -m uvicorn --app-dir example_project example_project.asgi:application \
    --host 127.0.0.1 --port "$port" --no-access-log

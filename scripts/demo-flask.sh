#!/usr/bin/env bash
# `make demo-flask`: the Flask example (example_flask/) and a Celery worker, on Redis
# (REDIS_URL, default redis://127.0.0.1:6379/5; a local Redis is started when none listens
# on 6379). No Django settings anywhere. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/venv.sh .venv python3 demo "flask>=3.0"  # the package, its redis extra, and Flask
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/5}"
port="${PORT:-5000}"
var="${EXAMPLE_VAR:-$PWD/var/demo-flask}"
mkdir -p "$var"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ "$REDIS_URL" == redis://127.0.0.1:6379/* ]] && ! listening 6379; then
    command -v redis-server >/dev/null || scripts/apt-install.sh redis-server
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir "$var" --logfile "$var/redis.log"
    for _ in $(seq 1 100); do listening 6379 && break; sleep 0.1; done
fi

.venv/bin/python -m celery -A example_flask.celery_app worker -l INFO -c 2 \
    -f "$var/worker.log" &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null || true' EXIT INT TERM

echo
echo "  django-jobtastic on Flask: http://127.0.0.1:$port/  (worker log: $var/worker.log)"
echo "  broker, results and cache on $REDIS_URL. Ctrl-C stops the server and the worker."
echo
.venv/bin/python -m flask --app example_flask.app run --host 127.0.0.1 --port "$port"

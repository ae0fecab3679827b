#!/usr/bin/env bash
# The fault suite (tests/soak), as `make soak` runs it: several clients submit jobs through
# gunicorn and follow them while workers are killed and services restart, on the Redis and
# the RabbitMQ broker in turn; prints the counts (see docs/deployment.md, Faults).
# MINUTES (default 6) is shared by the two legs. Takes /tmp/jobtastic-services.lock itself
# (or uses its caller's): RabbitMQ is restarted. Extra arguments go to `python -m tests.soak`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-services.sh
scripts/venv.sh .venv python3 test,lint,bench  # bench: gunicorn
exec .venv/bin/python -m tests.soak --minutes "${MINUTES:-6}" "$@"

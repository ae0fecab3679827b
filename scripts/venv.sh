#!/usr/bin/env bash
# scripts/venv.sh DIR PYTHON [EXTRA_REQUIREMENT...]: create or refresh a virtualenv with the
# package (editable) and its test and lint tools. Re-runs are quick: pip skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1 python=$2
shift 2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade "pip>=25.1" 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" -m pip install -q -e ".[redis,db]" --group test --group lint "$@" 2>&1 \
    | grep -v "is ignored" || true
"$venv/bin/python" -c "import django, celery; print('venv', '$venv', 'Django', django.__version__, 'Celery', celery.__version__)"

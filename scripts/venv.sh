#!/usr/bin/env bash
# scripts/venv.sh DIR PYTHON GROUPS [REQUIREMENT...]: create or refresh a virtualenv with the
# package (editable), the dependency groups named in GROUPS ("test,lint") and any extra
# requirements (version pins for a compatibility leg). Re-runs are quick: pip skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1 python=$2 groups=$3
shift 3
group_args=()
for group in ${groups//,/ }; do group_args+=(--group "$group"); done
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade "pip>=25.1" 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" -m pip install -q -e ".[redis]" "${group_args[@]}" "$@" 2>&1 \
    | grep -v "is ignored" || true
"$venv/bin/python" -c "import sys, django, celery; print('venv $venv: Python', sys.version.split()[0], 'Django', django.__version__, 'Celery', celery.__version__)"

#!/usr/bin/env bash
# Builds the documentation site from docs/ into docs/_build/html (or the folder given), with
# every warning an error, so a broken link or a page outside the table of contents fails.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-docs/_build/html}
scripts/venv.sh .venv python3 docs
.venv/bin/sphinx-build -W --keep-going -n -b html docs "$out"

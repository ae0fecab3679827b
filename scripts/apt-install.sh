#!/usr/bin/env bash
# scripts/apt-install.sh PACKAGE...: install Debian packages that are missing (needs root).
# The apt index is refreshed before an install when it is over an hour old (or never was).
set -euo pipefail
missing=()
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "apt-install: ${missing[*]} missing; install it (apt-get install ${missing[*]})" >&2
    exit 1
fi
stamp=/tmp/jobtastic-apt-updated
if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    touch "$stamp"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null

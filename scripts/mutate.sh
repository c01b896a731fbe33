#!/usr/bin/env bash
# Mutation check: plants small deliberate bugs one at a time and reports those no test caught.
# `scripts/mutate.sh --list`, `scripts/mutate.sh NAME...`, `scripts/mutate.sh --markdown table.md`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/mutate.py "$@"

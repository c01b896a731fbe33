#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs (Debian packages), builds, tests.
# Extra arguments go to `swift test` (e.g. `scripts/test.sh --filter SettingsTests`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-tools
swift build --build-tests
swift test --skip-build "$@"

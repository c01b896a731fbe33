#!/usr/bin/env bash
# Installs the Debian packages SwiftMoshi builds and tests with, if any is missing.
# Idempotent; needs root (or sudo) only when something is missing. Swift 6.1+ must be on PATH.
set -euo pipefail

# Build: C libraries the SwiftPM system-library targets link (see Package.swift).
build_pkgs=(pkg-config libasound2-dev libopus-dev libogg-dev libspeexdsp-dev libopenblas-dev)
# Tests: real tools the interoperability tests call (ALSA plugins, opus-tools, ffmpeg, sox, espeak-ng,
# socat for the Ogg-over-TCP tests, python3 for the fake Hugging Face hub and the wss:// client,
# chromium for the browser-page test, curl and openssl for the TLS tests, nginx for the shipped
# nginx configurations).
test_pkgs=(alsa-utils opus-tools ffmpeg sox espeak-ng socat python3 chromium curl openssl nginx)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--with-test-tools" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6.1 or later is required)" >&2; exit 1; }

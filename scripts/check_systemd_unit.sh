#!/usr/bin/env bash
# Checks the units in systemd/: `systemd-analyze verify` (with ExecStart pointed at a stand-in
# executable, since verify requires the binary to exist) and `systemd-analyze security --offline`,
# failing if the exposure score rises above MAX_EXPOSURE (default 2.5, the recorded score is in
# systemd/README.md). Skips (exit 0) when systemd-analyze is missing.
#
# Optional: MOSHI_BINARY=path/to/moshi also runs `moshi --help` with W^X memory enforced
# (prctl PR_SET_MDWE, what MemoryDenyWriteExecute=yes enforces), to show the binary survives it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
max_exposure="${MAX_EXPOSURE:-2.5}"
if ! command -v systemd-analyze > /dev/null; then
    echo "SKIP: systemd-analyze not installed (apt-get install systemd)"; exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
standin="$work/bin/moshi"
mkdir -p "$work/bin"
if [[ -n "${MOSHI_BINARY:-}" ]]; then cp "$MOSHI_BINARY" "$standin"; else cp /bin/true "$standin"; fi

status=0
for unit in moshi.service moshi@.service; do
    source="$here/systemd/$unit"
    [[ -f "$source" ]] || continue
    sed "s#/usr/local/bin/moshi#$standin#g" "$source" > "$work/$unit"
    # An instance to verify for the template.
    target="$work/$unit"
    if [[ "$unit" == *@.service ]]; then cp "$work/$unit" "$work/${unit/@/@a}"; target="$work/${unit/@/@a}"; fi
    echo "== systemd-analyze verify $unit"
    if ! out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$target" 2>&1)"; then
        echo "$out"; echo "FAIL: verify $unit"; status=1; continue
    fi
    # verify prints warnings about other units on the host (not ours); show only lines naming ours.
    problems="$(echo "$out" | grep -F "${target##*/}" || true)"
    if [[ -n "$problems" ]]; then echo "$problems"; echo "FAIL: verify $unit reported problems"; status=1; continue; fi
    echo "ok"

    echo "== systemd-analyze security --offline=yes $unit"
    report="$(systemd-analyze security --offline=yes --no-pager "$target" 2>&1 || true)"
    score="$(echo "$report" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' | tail -1)"
    echo "$report" | grep -E "^✗|Overall" || true
    if [[ -z "$score" ]]; then echo "$report"; echo "FAIL: no exposure score for $unit"; status=1; continue; fi
    if awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
        echo "FAIL: $unit exposure $score is above $max_exposure"; status=1
    else
        echo "exposure $score (limit $max_exposure)"
    fi
done

if [[ -n "${MOSHI_BINARY:-}" ]]; then
    echo "== moshi --help under PR_SET_MDWE (MemoryDenyWriteExecute)"
    if python3 - "$standin" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    print("SKIP: kernel has no PR_SET_MDWE (Linux 6.3+)"); sys.exit(0)
devnull = os.open(os.devnull, os.O_WRONLY); os.dup2(devnull, 1)
os.execv(sys.argv[1], [sys.argv[1], "--help"])
PY
    then echo "ok"; else echo "FAIL: moshi --help died under W^X enforcement"; status=1; fi
fi

[[ $status -eq 0 ]] && echo "PASS: systemd units" || echo "FAIL: systemd units"
exit $status

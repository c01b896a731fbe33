#!/usr/bin/env bash
# Builds one libFuzzer target with AddressSanitizer and runs it for a while.
#
#   scripts/fuzz.sh [TARGET] [SECONDS] [extra libFuzzer flags...]
#
# TARGET is FuzzSafetensors (default), FuzzGGUF, FuzzOgg or FuzzFramedDecoder; SECONDS defaults to 60. The corpus
# grows in .build-fuzz/corpus/TARGET (kept between runs), seeded from the committed test files;
# crash reproducers land in fuzz-artifacts/TARGET/ (git-ignored). Replay one with
#   .build-fuzz/debug/TARGET fuzz-artifacts/TARGET/crash-...
# Exit status: 0 when the time ran out without a finding, libFuzzer's non-zero status otherwise.
set -euo pipefail

target="${1:-FuzzSafetensors}"
seconds="${2:-60}"
shift $(( $# > 2 ? 2 : $# ))
cd "$(dirname "$0")/.."

scratch=.build-fuzz
flags=(--scratch-path "$scratch" --sanitize=fuzzer --sanitize=address
       -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table)
export MOSHI_FUZZ=1
swift build "${flags[@]}" --product "$target"
binary="$(swift build "${flags[@]}" --show-bin-path)/$target"

corpus="$scratch/corpus/$target"
seeds="$scratch/seeds/$target"
artifacts="fuzz-artifacts/$target"
mkdir -p "$corpus" "$seeds" "$artifacts"

# Seeds: the committed test files of the format, plus a few hand-made edge cases; and a
# dictionary of the format's keywords, so mutations reach past the first checks.
dictionary="$scratch/seeds/$target.dict"
: > "$dictionary"
case "$target" in
  FuzzSafetensors)
    cp Tests/WeightsTests/Fixtures/*.safetensors "$seeds/" 2>/dev/null || true
    printf '{"quantization": {"group_size": 64, "bits": 8}}' > "$seeds/config.json"
    for word in '{' '}' '[' ']' '"dtype"' '"shape"' '"data_offsets"' '"__metadata__"' '"F32"' '"F16"' \
                '"BF16"' '"I8"' '"U8"' '"I32"' '"I64"' '"U32"' '.weight' '.scales' '.biases' '\\u' \
                '"quantization"' '"bits"' '"group_size"' 'true' 'null' '-0' '1e9'; do
      printf 'kw="%s"\n' "$(printf '%s' "$word" | sed 's/\\/\\\\/g; s/"/\\"/g')" >> "$dictionary"
    done
    ;;
  FuzzGGUF)
    cp Tests/WeightsTests/Fixtures/*.gguf "$seeds/" 2>/dev/null || true
    printf 'GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > "$seeds/empty.gguf"
    for word in 'GGUF' 'general.alignment' '\x09\x00\x00\x00' '\x08\x00\x00\x00' '\x02\x00\x00\x00' \
                '\x1e\x00\x00\x00' '\xff\xff\xff\xff\xff\xff\xff\xff'; do
      printf 'kw="%s"\n' "$word" >> "$dictionary"
    done
    ;;
  FuzzFramedDecoder)
    cp Tests/Fuzz/FuzzFramedDecoder/Seeds/* "$seeds/" 2>/dev/null || true
    for word in 'MOSH\x01' '\x00\x00\x00\x00' '\xff\xff\xff\xff' '"seed"' '"text_temperature"' '"audio_topk"'; do
      printf 'kw="%s"\n' "$(printf '%s' "$word" | sed 's/"/\\"/g')" >> "$dictionary"
    done
    ;;
  *)
    find Tests -type f \( -name '*.ogg' -o -name '*.opus' \) -size -64k -exec cp {} "$seeds/" \; 2>/dev/null || true
    ;;
esac
dictionary_flag=()
[ -s "$dictionary" ] && dictionary_flag=(-dict="$dictionary")

# -rss_limit_mb also caps a single malloc: a hostile count that allocates hugely is a finding.
exec "$binary" "$corpus" "$seeds" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 "${dictionary_flag[@]}" "$@"

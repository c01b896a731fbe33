#!/usr/bin/env python3
"""Mutation check: applies small deliberate bugs to the source, one at a time, runs the tests
that should catch each, and reports which bugs no test caught.

    scripts/mutate.sh                 # every mutation (about a minute each on 2 cores)
    scripts/mutate.sh --list          # the list, and whether each still applies
    scripts/mutate.sh rope-position ogg-granule-unit   # some of them, by name
    scripts/mutate.sh --markdown out.md                # also write the result table

Each mutation names one file, a piece of text that must occur there exactly once, what
replaces it, and the test filter (`swift test --filter`) that must go red. The file is
restored after each run, whatever happens (also on Ctrl-C). A mutation whose text no longer
occurs is reported as `stale`: the list must follow the code.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    module: str
    path: str
    old: str
    new: str
    tests: str        # swift test --filter regex
    what: str


MUTATIONS: list[Mutation] = [
    # Numerics
    # RoPE is relative: shifting every position by one changes no output (an equivalent
    # mutant, found by this script). The real off-by-one is a position that lags the cache.
    Mutation("rope-position", "MoshiLM", "Sources/MoshiLM/TemporalTransformer.swift",
             "var position: Int { caches.first?.count ?? 0 }",
             "var position: Int { max(0, (caches.first?.count ?? 0) - 1) }",
             "MoshiLMTests", "the temporal RoPE position lags the KV cache by one step"),
    Mutation("rmsnorm-eps-outside", "MoshiNumerics", "Sources/MoshiNumerics/Ops/RMSNorm.swift",
             "let inverseRMS = 1 / (eps + meanSquare).squareRoot()",
             "let inverseRMS = 1 / meanSquare.squareRoot() + eps",
             "MoshiNumericsTests", "RMSNorm adds epsilon outside the square root"),
    Mutation("silu-sign", "MoshiNumerics", "Sources/MoshiNumerics/Ops/SiLU.swift",
             "v / (1 + vectorExp(-v))", "v / (1 + vectorExp(v))",
             "MoshiNumericsTests", "SiLU uses sigmoid(-x)"),
    Mutation("elu-threshold", "MoshiNumerics", "Sources/MoshiNumerics/Ops/ELU.swift",
             "return negative.replacing(with: v, where: v .> 0)",
             "return negative.replacing(with: v, where: v .> 0.5)",
             "MimiTests", "ELU switches branch at 0.5 instead of 0"),
    Mutation("codebook-argmax", "MoshiNumerics", "Sources/MoshiNumerics/Ops/CodebookSearch.swift",
             "if distance < bestDistance {", "if distance <= bestDistance {",
             "MimiTests|MoshiNumericsTests", "codebook search keeps the last of equal distances"),
    Mutation("kv-ring-slot", "MoshiNumerics", "Sources/MoshiNumerics/KVCache.swift",
             "let slot = count % capacity", "let slot = (count + 1) % capacity",
             "MoshiLMTests", "KV cache writes each step one slot ahead"),
    Mutation("topk-off-by-one", "MoshiNumerics", "Sources/MoshiNumerics/Ops/TopKSampling.swift",
             "let k = topK <= 0 ? count : min(topK, count)",
             "let k = topK <= 0 ? count : min(topK + 1, count)",
             "MoshiNumericsTests", "top-k sampling keeps k + 1 candidates"),
    Mutation("bf16-round-truncate", "Weights", "Sources/Weights/HalfPrecision.swift",
             "let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)", "let rounded = bits",
             "WeightsTests|MoshiNumericsTests", "float to bf16 truncates instead of rounding to nearest even"),
    # CKernels
    Mutation("q4-nibble-order", "CKernels", "Sources/CKernels/mk_matvec_scalar.c",
             "int q = j < 16 ? (block[2 + j] & 0x0F) : (block[2 + j - 16] >> 4);",
             "int q = j < 16 ? (block[2 + j] >> 4) : (block[2 + j - 16] & 0x0F);",
             "MoshiNumericsTests", "Q4_0 reference reads the high nibble first"),
    Mutation("mlx-code-order", "CKernels", "Sources/CKernels/mk_matvec_scalar.c",
             "uint32_t q = (word >> (bits * (c % per_word))) & ((1u << bits) - 1u);",
             "uint32_t q = (word >> (bits * (per_word - 1 - c % per_word))) & ((1u << bits) - 1u);",
             "MoshiNumericsTests", "MLX reference unpacks codes from the top bits first"),
    Mutation("limb-digit-unsigned", "CKernels", "Sources/CKernels/mk_matvec_limbs_avx512.c",
             "const __m256i a3 = _mm256_srai_epi32(_mm256_slli_epi32(n, 24), 24);",
             "const __m256i a3 = _mm256_and_si256(n, _mm256_set1_epi32(0xFF));",
             "MoshiNumericsTests", "AVX-512 4-bit limbs: the lowest digit of x read unsigned"),
    Mutation("limb-dropped", "CKernels", "Sources/CKernels/mk_matvec_limbs_avx512.c",
             "for (int k = 1; k < limbs; k++)",
             "for (int k = 1; k < limbs - 1; k++)",
             "MoshiNumericsTests", "AVX-512 4-bit limbs: the third limb of x dropped"),
    Mutation("q4-weights-dequant", "Weights", "Sources/Weights/BlockQuantization.swift",
             "destination[b * blockLength + j] = d * Float(Int(byte & 0x0F) - 8)",
             "destination[b * blockLength + j] = d * Float(Int(byte & 0x0F) - 7)",
             "WeightsTests|MoshiNumericsTests", "Q4_0 dequantization offsets by 7, not 8"),
    # Weights
    Mutation("safetensors-duplicate-name", "Weights", "Sources/Weights/SafetensorsHeaderParser.swift",
             "guard names.insert(key).inserted else { throw problem(\"appears twice in the header\") }",
             "_ = names.insert(key)",
             "WeightsTests", "a tensor named twice in a safetensors header is accepted"),
    # Mimi
    Mutation("mimi-layer-scale", "Mimi", "Sources/Mimi/StreamingTransformer.swift",
             "layerScale: .init(attention: w.scale1, feedForward: w.scale2))",
             "layerScale: .init(attention: w.scale1, feedForward: w.scale1))",
             "MimiTests", "Mimi's feed-forward residual uses the attention's layer scale"),
    Mutation("attention-future-steps", "MoshiNumerics", "Sources/MoshiNumerics/KVCache.swift",
             "skip_count: Int64(future), scale", "skip_count: Int64(0), scale",
             "MimiTests", "a multi-step call's queries also see the steps after their own (Mimi's attention)"),
    Mutation("mimi-rvq-residual", "Mimi", "Sources/Mimi/SplitResidualQuantizer.swift",
             "for i in 0..<c { residual[i] -= row[i] }", "for i in 0..<c { residual[i] -= 0.5 * row[i] }",
             "MimiTests", "the residual quantizer subtracts half the chosen row"),
    Mutation("mimi-rvq-decode-skip", "Mimi", "Sources/Mimi/SplitResidualQuantizer.swift",
             "for q in 1..<codebooks {\n            addInPlace(", "for q in 2..<max(2, codebooks) {\n            addInPlace(",
             "MimiTests", "the decoder drops the second codebook"),
    # MoshiLM
    Mutation("lm-user-delay", "MoshiLM", "Sources/MoshiLM/LMGenerator.swift",
             "ring[stream * ringLength + (o + c.delays[stream]) % ringLength] = u < count ? userCodes[u] : -1",
             "ring[stream * ringLength + (o + c.delays[stream] + 1) % ringLength] = u < count ? userCodes[u] : -1",
             "MoshiLMTests", "the user's codes enter one column late (wrong acoustic delay)"),
    Mutation("lm-initial-token", "MoshiLM", "Sources/MoshiLM/LMGenerator.swift",
             "if o <= c.delays[stream] {", "if o < c.delays[stream] {",
             "MoshiLMTests", "initial tokens stop one step early"),
    Mutation("lm-output-alignment", "MoshiLM", "Sources/MoshiLM/LMGenerator.swift",
             "frame[stream] = ring[stream * ringLength + (offset - c.maxDelay + c.delays[stream]) % ringLength]",
             "frame[stream] = ring[stream * ringLength + (offset - c.maxDelay) % ringLength]",
             "MoshiLMTests", "returned frames ignore each stream's delay"),
    Mutation("layer-dropped-residual", "MoshiNumerics", "Sources/MoshiNumerics/Transformer/TransformerLayerStepper.swift",
             "map.run(input, rows: n, into: x, accumulate: true, pool: pool)",
             "map.run(input, rows: n, into: x, accumulate: false, pool: pool)",
             "MoshiLMTests", "a layer's branch output replaces x where it should add to it (dropped residual, the LM's layers)"),
    Mutation("lm-depformer-previous", "MoshiLM", "Sources/MoshiLM/LMGenerator.swift",
             "chosen[1 + k] = token\n            previous = token",
             "chosen[1 + k] = token\n            previous = text",
             "MoshiLMTests", "each depformer step is fed the text token instead of the previous codebook"),
    Mutation("tokenizer-space", "MoshiLM", "Sources/MoshiLM/Tokenizer/SentencePieceDecoding.swift",
             "static let spaceSymbol: Character = \"\\u{2581}\"", "static let spaceSymbol: Character = \"_\"",
             "MoshiLMTests", "SentencePiece's word marker is not turned into a space"),
    # AudioIO
    Mutation("ogg-granule-unit", "AudioIO", "Sources/AudioIO/Ogg/OggOpusWriter.swift",
             "granulePosition += Int64(duration)", "granulePosition += Int64(duration / 2)",
             "AudioIOTests", "Ogg granule positions counted at 24 kHz instead of 48 kHz"),
    Mutation("ogg-crc-unchecked", "AudioIO", "Sources/AudioIO/Ogg/OggOpusWriter.swift",
             "ogg_page_checksum_set(&page)", "_ = page",
             "AudioIOTests", "the end-of-stream page is written without its CRC"),
    Mutation("ogg-preskip", "AudioIO", "Sources/AudioIO/Ogg/OggOpusDecoder.swift",
             "first = min(frames, preSkipRemaining)", "first = 0",
             "AudioIOTests", "the decoder does not drop the OpusHead pre-skip"),
    Mutation("wav-riff-size", "AudioIO", "Sources/AudioIO/WAV/WAVFile.swift",
             "bytes.appendLittleEndian(UInt32(4 + (8 + fmtSize) + (8 + dataSize) + (dataSize & 1)))",
             "bytes.appendLittleEndian(UInt32((8 + fmtSize) + (8 + dataSize) + (dataSize & 1)))",
             "AudioIOTests", "the RIFF chunk size leaves out the WAVE tag"),
    # Server, Engine, Settings
    Mutation("framed-length-endianness", "Server", "Sources/Server/FramedProtocol.swift",
             "for i in 1...4 { length = length << 8 | UInt32(buffer[start + i]) }",
             "for i in (1...4).reversed() { length = length << 8 | UInt32(buffer[start + i]) }",
             "ServerTests", "framed message lengths read little-endian"),
    Mutation("late-policy-keep", "Engine", "Sources/Engine/Loop/LatePolicy.swift",
             "return waiting > max(1, maxFrames) ? waiting - 1 : 0",
             "return waiting > max(1, maxFrames) ? waiting - 2 : 0",
             "EngineTests", "drop-oldest keeps two frames waiting instead of one"),
    Mutation("settings-env-unchecked", "Settings", "Sources/Settings/SettingsLoader.swift",
             "throw SettingsError.badEnvironment(variable: key.environmentVariable, key: key.path, reason: why)",
             "_ = why",
             "SettingsTests", "an out-of-range MOSHI_* value is accepted"),
    Mutation("hub-checksum-ignored", "ModelHub", "Sources/ModelHub/BlobDownload.swift",
             "if let actual = digest.finalize(), actual != digest.expected {",
             "if let actual = digest.finalize(), actual != digest.expected, false {",
             "ModelHubTests", "a download whose content does not match its checksum is kept"),
    Mutation("gguf-data-alignment", "Weights", "Sources/Weights/GGUFFile.swift",
             "let dataOffset = (header.headerEnd + alignment - 1) / alignment * alignment",
             "let dataOffset = (header.headerEnd + 31) / 32 * 32",
             "WeightsTests", "the GGUF data section ignores general.alignment"),
    Mutation("jitter-start-depth", "MoshiClient", "Sources/MoshiClient/PlaybackJitterBuffer.swift",
             "if !s.playing, s.count >= startDepth {", "if !s.playing, s.count >= 1 {",
             "ServerTests|MoshiCLITests", "the playback jitter buffer starts before it holds its start depth"),
]


def run(cmd: list[str], log: Path) -> int:
    with log.open("w") as out:
        return subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode


def applies(m: Mutation) -> int:
    return (ROOT / m.path).read_text().count(m.old)


def check(m: Mutation, logs: Path) -> tuple[str, float]:
    """Returns ('caught' | 'SURVIVED' | 'stale' | 'no-build' | 'broken-baseline', seconds)."""
    path = ROOT / m.path
    original = path.read_text()
    if original.count(m.old) != 1:
        return "stale", 0.0
    start = time.monotonic()
    try:
        path.write_text(original.replace(m.old, m.new))
        if run(["swift", "build", "--build-tests"], logs / f"{m.name}.build.log") != 0:
            return "no-build", time.monotonic() - start
        code = run(["swift", "test", "--skip-build", "--filter", m.tests], logs / f"{m.name}.test.log")
        return ("caught" if code != 0 else "SURVIVED"), time.monotonic() - start
    finally:
        path.write_text(original)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and whether each applies")
    parser.add_argument("--markdown", type=Path, help="also write the result table here")
    parser.add_argument("--logs", type=Path, default=ROOT / ".build" / "mutations", help="build and test logs")
    args = parser.parse_args()

    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        print(f"unknown mutation(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            n = applies(m)
            state = "applies" if n == 1 else ("STALE (text not found)" if n == 0 else f"AMBIGUOUS ({n} matches)")
            print(f"{m.name:28} {m.module:9} {state:24} {m.what}")
        return 0 if all(applies(m) == 1 for m in chosen) else 1

    if subprocess.run(["git", "diff", "--quiet", "--", *{m.path for m in chosen}], cwd=ROOT).returncode != 0:
        print("the files to mutate have uncommitted changes; commit or stash them first", file=sys.stderr)
        return 2
    args.logs.mkdir(parents=True, exist_ok=True)
    print("baseline: building and running the chosen test targets unmutated ...", flush=True)
    if run(["swift", "build", "--build-tests"], args.logs / "baseline.build.log") != 0:
        print(f"baseline build failed ({args.logs}/baseline.build.log)", file=sys.stderr)
        return 2
    filters = "|".join(sorted({m.tests for m in chosen}))
    if run(["swift", "test", "--skip-build", "--filter", filters], args.logs / "baseline.test.log") != 0:
        print(f"baseline tests fail ({args.logs}/baseline.test.log): fix them first", file=sys.stderr)
        return 2

    rows = []
    for m in chosen:
        result, seconds = check(m, args.logs)
        rows.append((m, result))
        print(f"{m.name:28} {result:9} {seconds:6.0f} s  {m.what}", flush=True)
    run(["swift", "build", "--build-tests"], args.logs / "restore.build.log")

    survived = [m.name for m, r in rows if r != "caught"]
    table = ["| mutation | module | file | the bug | tests run | result |", "|---|---|---|---|---|---|"]
    for m, r in rows:
        table.append(f"| `{m.name}` | {m.module} | `{m.path.removeprefix('Sources/')}` | {m.what} | `{m.tests}` | {r} |")
    if args.markdown:
        args.markdown.write_text("\n".join(table) + "\n")
    caught = len(rows) - len(survived)
    print(f"\n{caught} of {len(rows)} mutations caught" + (f"; not caught: {', '.join(survived)}" if survived else ""))
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())

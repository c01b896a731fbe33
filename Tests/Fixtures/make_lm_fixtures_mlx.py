#!/usr/bin/env python3
"""The MLX-layout LM fixtures checked by, and a second expectation recorded from, real MLX
and Kyutai's `moshi_mlx`.

`make_lm_fixtures.py` quantizes the MLX q8 / q4 files with `mx.quantize` and records their
expected logits from the PyTorch reference run on the weights those files hold. This script:

1. checks every (weight, scales, biases) triple equals, byte for byte, what `mx.quantize`
   makes from the source weights (cast to bf16 first for the bf16 file);
2. loads each file into `moshi_mlx`'s own `Lm`, after `nn.quantize` with the same bits and
   group size, with `load_weights(strict=True)` (so every name and shape is what MLX expects);
3. replays the recorded teacher-forced tokens through that MLX model in f32, checks its
   logits against the PyTorch expectation, and writes them to
   `lm_seed1_moshi_mlx.safetensors` (`mlx_q8.text_logits` [steps, text_card],
   `mlx_q8.audio_logits` [steps, dep_q, card], the same for `mlx_q4`): the Swift parity test
   compares its MLX-layout logits with these too, so a misreading of the MLX format shared
   by our converter and our loader cannot pass.

MLX's attention keeps `context + 1` keys per query where PyTorch keeps `context` (see the
fixtures README); the replay gives MLX `context - 1` so both see the same keys.

Requirements: mlx (CPU wheels: `pip install "mlx[cpu]"`, 0.32.4 used) and moshi_mlx 0.3.0
installed without its dependencies (`pip install --no-deps moshi_mlx==0.3.0`; its rustymimi
dependency needs a Rust build with network access and is not used here):

    python3 -m venv /work/ref-venv
    /work/ref-venv/bin/pip install "mlx[cpu]==0.32.4" numpy
    /work/ref-venv/bin/pip install --no-deps moshi_mlx==0.3.0
    /work/ref-venv/bin/python Tests/Fixtures/make_lm_fixtures_mlx.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from safetensors.numpy import save_file
from moshi_mlx.models.lm import DepFormerConfig, Lm, LmConfig
from moshi_mlx.modules.transformer import TransformerConfig

FIXTURES = Path(__file__).resolve().parent.parent / "MoshiLMTests" / "Fixtures"
SEED = 1
FILES = {"mlx_q8": (8, 64, False), "mlx_q4": (4, 32, True)}
TOLERANCE = 1e-4  # relative L2 of the logits, per step


def mlx_config(cfg: dict, temporal_context: int) -> LmConfig:
    """The fixture config as a moshi_mlx LmConfig (feed-forward widths from the PY rules)."""
    def tcfg(d, heads, layers, ff, context, pos):
        return TransformerConfig(
            d_model=d, num_heads=heads, num_layers=layers, dim_feedforward=ff, causal=True,
            norm_first=True, bias_ff=False, bias_attn=False, layer_scale=None, context=context,
            max_period=cfg["max_period"], use_conv_block=False, use_conv_bias=True,
            cross_attention=False, gating=True, norm="rms_norm", positional_embedding=pos,
            conv_layout=False, conv_kernel_size=3, kv_repeat=1, max_seq_len=4096)
    return LmConfig(
        transformer=tcfg(cfg["dim"], cfg["num_heads"], cfg["num_layers"],
                         int(cfg["hidden_scale"] * cfg["dim"]), temporal_context, "rope"),
        depformer=DepFormerConfig(
            transformer=tcfg(cfg["depformer_dim"], cfg["depformer_num_heads"],
                             cfg["depformer_num_layers"], cfg["depformer_dim_feedforward"],
                             cfg["dep_q"], "none"),
            num_slices=cfg["dep_q"]),
        text_in_vocab_size=cfg["text_card"] + 1, text_out_vocab_size=cfg["text_card"],
        audio_vocab_size=cfg["card"] + 1, audio_codebooks=cfg["n_q"],
        audio_delays=cfg["delays"][1:], conditioners={})


def mlx_source_weights(cfg: dict) -> dict:
    """The f32 PyTorch-layout weights under MLX names (as `scripts/import_mlx.py` maps them)."""
    pt = mx.load(str(FIXTURES / f"lm_seed{SEED}.safetensors"))
    out = {"text_emb.weight": pt["text_emb.weight"], "text_linear.weight": pt["text_linear.weight"],
           "out_norm.weight": pt["out_norm.alpha"][0, 0]}
    for i in range(cfg["n_q"]):
        out[f"audio_embs.{i}.weight"] = pt[f"emb.{i}.weight"]
    for k, v in pt.items():
        if k.startswith("transformer."):
            if k.endswith(".alpha"):
                v = v[0, 0]
            out[k.replace(".alpha", ".weight").replace(".in_proj_weight", ".in_proj.weight")] = v
    dq = cfg["dep_q"]
    for s in range(dq):
        p = f"depformer.slices.{s}."
        out[p + "linear_in.weight"] = pt[f"depformer_in.{s}.weight"]
        out[p + "linear_out.weight"] = pt[f"linears.{s}.weight"]
        out[p + "emb.weight"] = pt["depformer_text_emb.weight" if s == 0 else f"depformer_emb.{s - 1}.weight"]
        for j in range(cfg["depformer_num_layers"]):
            src, dst = f"depformer.layers.{j}.", f"{p}transformer.layers.{j}."
            out[dst + "norm1.weight"] = pt[src + "norm1.alpha"][0, 0]
            out[dst + "norm2.weight"] = pt[src + "norm2.alpha"][0, 0]
            out[dst + "gating.linear_in.weight"] = pt[src + f"gating.{s}.linear_in.weight"]
            out[dst + "gating.linear_out.weight"] = pt[src + f"gating.{s}.linear_out.weight"]
            out[dst + "self_attn.in_proj.weight"] = mx.split(pt[src + "self_attn.in_proj_weight"], dq)[s]
            out[dst + "self_attn.out_proj.weight"] = mx.split(pt[src + "self_attn.out_proj.weight"], dq)[s]
    return out


def check_quantizer(name: str, bits: int, group: int, bf16: bool, source: dict) -> None:
    stored = mx.load(str(FIXTURES / f"lm_seed{SEED}_{name}.safetensors"))
    checked = 0
    for key, w in source.items():
        if bf16:
            w = w.astype(mx.bfloat16)
        if w.ndim == 1:
            assert mx.array_equal(stored[key], w).item() and stored[key].dtype == w.dtype, key
            continue
        q, s, b = mx.quantize(w, group_size=group, bits=bits)
        stem = key[: -len(".weight")]
        for part, ref in ((".weight", q), (".scales", s), (".biases", b)):
            got = stored[stem + part]
            assert got.dtype == ref.dtype and got.shape == ref.shape, (stem + part, got.dtype, ref.dtype)
            assert mx.array_equal(got, ref).item(), f"{name}: {stem + part} differs from mx.quantize"
        checked += 1
    extra = set(stored) - {k[: -len(".weight")] + p for k in source for p in (".weight", ".scales", ".biases")} - set(source)
    assert not extra, extra
    print(f"{name}: {checked} quantized matrices equal to mx.quantize, {len(stored)} tensors")


def replay(name: str, bits: int, group: int, bf16: bool, cfg: dict, io: dict) -> dict:
    model = Lm(mlx_config(cfg, cfg["context"] - 1))
    if bf16:
        model.set_dtype(mx.bfloat16)
    nn.quantize(model, bits=bits, group_size=group)
    model.load_weights(str(FIXTURES / f"lm_seed{SEED}_{name}.safetensors"), strict=True)
    model.set_dtype(mx.float32)  # widen bf16 scales/biases/norms; compute in f32
    tokens = np.array(io["forced_temporal_tokens"])
    dep_tokens = np.array(io["forced_depformer_tokens"])
    want_text = np.array(io[f"{name}.text_logits"])
    want_audio = np.array(io[f"{name}.audio_logits"])
    worst_text = worst_audio = 0.0
    texts, audios = [], []
    for t in range(tokens.shape[0]):
        xs = model.text_emb(mx.array([[int(tokens[t, 0])]]))
        for k, emb in enumerate(model.audio_embs):
            xs = xs + emb(mx.array([[int(tokens[t, k + 1])]]))
        out = model.out_norm(model.transformer(xs, cache=model.transformer_cache))
        text = np.array(model.text_linear(out)).reshape(-1)
        worst_text = max(worst_text, rel(text, want_text[t]))
        texts.append(text)
        for c in model.depformer_cache:
            c.reset()
        for k, sl in enumerate(model.depformer.slices):
            h = sl.linear_in(out) + sl.emb(mx.array([[int(dep_tokens[t, k])]]))
            h = sl.transformer(h, cache=model.depformer_cache)
            audio = np.array(sl.linear_out(h)).reshape(-1)
            worst_audio = max(worst_audio, rel(audio, want_audio[t, k]))
            audios.append(audio)
    print(f"{name}: moshi_mlx replay, worst per-step relative L2: text {worst_text:.2e}, audio {worst_audio:.2e}")
    assert worst_text < TOLERANCE and worst_audio < TOLERANCE
    steps, dq = tokens.shape[0], len(model.depformer.slices)
    return {f"{name}.text_logits": np.stack(texts).astype(np.float32),
            f"{name}.audio_logits": np.stack(audios).astype(np.float32).reshape(steps, dq, -1)}


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main() -> None:
    cfg = json.loads((FIXTURES / f"lm_seed{SEED}_config.json").read_text())
    io = mx.load(str(FIXTURES / f"lm_seed{SEED}_io.safetensors"))
    source = mlx_source_weights(cfg)
    recorded = {}
    for name, (bits, group, bf16) in FILES.items():
        check_quantizer(name, bits, group, bf16, source)
        recorded.update(replay(name, bits, group, bf16, cfg, io))
    out = FIXTURES / f"lm_seed{SEED}_moshi_mlx.safetensors"
    save_file(recorded, str(out), metadata={"mlx": mx.__version__, "moshi_mlx": "0.3.0"})
    print(f"mlx {mx.__version__}: all MLX fixture checks passed; moshi_mlx logits in {out.name}")


if __name__ == "__main__":
    sys.exit(main())

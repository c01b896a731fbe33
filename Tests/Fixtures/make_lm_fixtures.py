#!/usr/bin/env python3
"""Reference fixtures for the Swift Moshi language model, produced by Kyutai's own PyTorch LM.

What it does
    Builds two small `moshi.models.lm.LMModel`s through the reference loader
    (`moshi.models.loaders.get_moshi_lm`, from a Kyutai-style JSON config with the keys of
    `configs/moshi_7b_202409.json`), gives every tensor seeded random values that keep the
    logits informative, and runs the reference streaming generator (`LMGen`) step by step on
    a fixed sequence of random user codes:

    * a teacher-forced run: every token LMGen would sample is replaced by a fixed forced
      token, and the text and depformer logits, the tokens fed to the temporal transformer
      and to the depformer, LMGen's returned frames and intermediate activations are recorded;
    * a greedy run (`use_sampling=False`): the tokens sampled at every call, the frames LMGen
      returned (None on the first call) and the top-1/top-2 logit margins.

    Weights are written in the official PyTorch checkpoint layout (the names of Kyutai's
    `model.safetensors`, which the reference loads through its load hook) as f32 safetensors;
    every weight is a bf16 value, as in the published bf16 checkpoints. The same weights are
    also written in the other official layouts: config 0 as candle safetensors in bf16 (like
    `moshiko-candle-bf16`; lossless here), config 1 as candle GGUF with Q8_0 (like
    `model.q8.gguf`) and as MLX affine q8/g64 (f32 scales) and q4/g32 (bf16 scales and norms,
    like `model.q4.safetensors`). Every such file is read back, dequantized, mapped back to
    PyTorch names, loaded into the reference model and run again, so each quantized layout
    has its own expected logits and tokens.

    A small SentencePiece model (vocab = text_card of config 0, byte fallback) is trained and
    the expected decodes of a few token sequences are recorded.

    Everything goes to `Tests/MoshiLMTests/Fixtures/`; see the README.md there for the file
    contents, the name mappings and the reference behaviours a port must reproduce.

Requirements (pinned)
    moshi==0.2.13 from PyPI (brings torch<2.10, 2.9.1 was used, numpy, safetensors,
    sentencepiece), plus gguf (0.19.0 was used) for the GGUF writer, reader and Q8_0 codec:

        python3 -m venv /work/ref-venv
        /work/ref-venv/bin/pip install moshi==0.2.13 gguf==0.19.0 "mlx[cpu]==0.32.4"
        /work/ref-venv/bin/pip install --no-deps moshi_mlx==0.3.0   # for make_lm_fixtures_mlx.py

    The plain moshi install pulls PyPI's Linux torch wheel with its nvidia-* CUDA wheels;
    everything here runs on the CPU. The MLX files are quantized by MLX itself (`mx.quantize`,
    `mlx[cpu]` 0.32.4 has Linux x86 wheels); the GGUF file is written and quantized by gguf-py.
    `make_lm_fixtures_mlx.py` beside this file then loads the MLX files into `moshi_mlx`'s
    own model and records its logits, so the Swift MLX path is checked against MLX's model
    and not only against the PyTorch reference on our reading of the format.

Usage
    /work/ref-venv/bin/python Tests/Fixtures/make_lm_fixtures.py      # ~40 s on 2 cores

Determinism
    All randomness comes from seeded numpy generators; torch runs on one thread; the only
    data-dependent choices (output head gains) are rounded to two significant digits, and a
    weight draw is rejected (the next seed is tried) when a greedy choice is a near tie
    (top-1/top-2 gap < 2e-3) or the greedy tokens hardly vary. A rerun with the same versions
    writes byte-identical weight files; the recorded float outputs can differ in their last
    bits on another CPU (torch picks its kernels by CPU features), far below the tolerances.
"""

from __future__ import annotations

import copy
import importlib.metadata
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

import moshi.models.lm as lm_module
from moshi.models import loaders
from moshi.models.lm import LMGen, LMModel

REFERENCE_VERSION = "0.2.13"
FIXTURES = Path(__file__).resolve().parent.parent / "MoshiLMTests" / "Fixtures"

# Two configurations with the keys of Kyutai's `configs/moshi_7b_202409.json`.
# Config 0 keeps the Moshi 7B structure exactly: 16 input codebooks (8 Moshi + 8 user), 8
# generated, the official delays, 2 + 2 layers, hidden_scale 4.125 (so the gated width comes
# from int(4.125 * 32) = 132 -> 2 * 132 // 3 = 88, as 16896 -> 11264 in the 7B), depformer
# feed-forward int(4.125 * 16) = 66 -> 44; a 16-step context so 50 steps wrap the ring cache
# three times. Its text_card matches the SentencePiece model below (byte fallback needs
# 256 byte pieces + 4 specials + the training characters, hence 320). Narrow (dim 32,
# depformer 16) to keep the fixtures small: 8 weight sets x 2 layers dominate the size.
# Config 1 is the smaller variant (8 input codebooks, 4 generated, the same delay pattern)
# whose every matrix width is a multiple of 64, so that every official quantized layout
# (Q8_0 blocks of 32, MLX q8 groups of 64, q4 groups of 32) can hold every matrix, as in the
# published files. Its hidden_scale 1.5 gives int(1.5 * 64) = 96 -> 64; one depformer layer
# (config 0 has two) keeps the four quantized copies small.
SEVEN_B_DELAYS = [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]
CONFIGS: dict[int, dict] = {
    0: {
        "dim": 32, "text_card": 320, "existing_text_padding_id": 3, "n_q": 16, "dep_q": 8,
        "card": 64, "num_heads": 4, "num_layers": 2, "hidden_scale": 4.125, "causal": True,
        "layer_scale": None, "context": 16, "max_period": 10000, "gating": "silu",
        "norm": "rms_norm_f32", "positional_embedding": "rope",
        "depformer_dim": 16, "depformer_dim_feedforward": 66, "depformer_num_heads": 2,
        "depformer_num_layers": 2, "depformer_causal": True, "depformer_layer_scale": None,
        "depformer_multi_linear": True, "depformer_context": 8, "depformer_max_period": 10000,
        "depformer_gating": "silu", "depformer_pos_emb": "none",
        "depformer_weights_per_step": True, "delays": SEVEN_B_DELAYS,
    },
    1: {
        "dim": 64, "text_card": 128, "existing_text_padding_id": 3, "n_q": 8, "dep_q": 4,
        "card": 64, "num_heads": 4, "num_layers": 2, "hidden_scale": 1.5, "causal": True,
        "layer_scale": None, "context": 10, "max_period": 10000, "gating": "silu",
        "norm": "rms_norm_f32", "positional_embedding": "rope",
        "depformer_dim": 64, "depformer_dim_feedforward": 96, "depformer_num_heads": 4,
        "depformer_num_layers": 1, "depformer_causal": True, "depformer_layer_scale": None,
        "depformer_multi_linear": True, "depformer_context": 4, "depformer_max_period": 10000,
        "depformer_gating": "silu", "depformer_pos_emb": "none",
        "depformer_weights_per_step": True, "delays": [0, 0, 1, 1, 1, 0, 1, 1, 1],
    },
}
STEPS = {0: 50, 1: 40}
# Other official layouts written per configuration. Every weight is a bf16 value, so the
# candle bf16 file is lossless (same numbers as the f32 PyTorch file); config 0's has the
# 8 x 2 depformer slicing of the 7B. The quantized layouts need config 1's widths.
LAYOUTS = {0: ["candle_bf16"], 1: ["gguf_q8_0", "mlx_q8", "mlx_q4"]}

# Target standard deviation of the text and audio logits (over steps and vocabulary).
LOGIT_STD = 3.0
# Fraction of forced text tokens that are PAD (3) and EPAD (0), as in the inner monologue.
FORCED_PAD_FRACTION = 0.4
FORCED_EPAD_FRACTION = 0.1
# Smallest top-1/top-2 logit gap accepted in a greedy run: greedy tokens must not hinge on
# f32 rounding in a port.
MIN_GREEDY_MARGIN = 2e-3
# Weight draws tried per configuration (seeded 1000 + 100 * draw + config) before giving up.
MAX_ATTEMPTS = 10

TOKENIZER_TEXT = [
    "Hello, how are you today?",
    "I am fine, thank you. And you?",
    "The weather is nice and the sun is out.",
    "Moshi listens and speaks at the same time.",
    "We talk about music, books and the sea.",
    "What time is it? It is ten past nine.",
    "My friend lives in a small village near the river.",
    "Could you bring some bread, cheese and fresh water?",
    "Every morning she walks her dog along the quiet beach.",
]


# ----------------------------------------------------------------------------------------
# Model construction and random weights
# ----------------------------------------------------------------------------------------

def build_model(config: dict) -> LMModel:
    """An f32 LMModel built exactly as the reference loader builds it from a JSON config."""
    model = loaders.get_moshi_lm(None, lm_kwargs=copy.deepcopy(config), device="cpu",
                                 dtype=torch.float32)
    return model.eval()


def linear_gain(name: str) -> float:
    """Gain (times 1/sqrt(fan_in)) of a random linear layer, by role."""
    if "in_proj" in name:
        return 1.5  # queries and keys with std ~1.5: attention neither flat nor one-hot
    return 1.0  # output heads are rescaled afterwards by `calibrate_heads`


def randomize(model: LMModel, seed: int) -> None:
    """Seeded random values for every parameter (embeddings, norms, projections, heads)."""
    rng = np.random.default_rng(1000 + seed)
    n_embeddings = model.n_q + 1
    with torch.no_grad():
        for name, param in model.named_parameters():
            shape = tuple(param.shape)
            if name.endswith(".alpha"):
                values = rng.uniform(0.6, 1.4, size=shape)
            elif name.startswith(("emb.", "text_emb.")):
                # The temporal input is a sum of n_q + 1 embeddings: keep it near unit scale.
                values = rng.standard_normal(shape) / math.sqrt(n_embeddings)
            elif name.startswith(("depformer_emb.", "depformer_text_emb.")):
                values = rng.standard_normal(shape)
            else:
                fan_in = shape[-1]
                values = rng.standard_normal(shape) * linear_gain(name) / math.sqrt(fan_in)
            param.copy_(torch.from_numpy(values.astype(np.float32)))


def round_to_bf16(model: LMModel) -> None:
    """Make every weight a bf16 value (as in the published bf16 checkpoints)."""
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(param.to(torch.bfloat16).float())


def two_digits(x: float) -> float:
    """x rounded to two significant digits (keeps calibrated gains reproducible)."""
    return float(f"{x:.2g}")


# ----------------------------------------------------------------------------------------
# Running the reference generator with full capture
# ----------------------------------------------------------------------------------------

class Capture:
    """Records one LMGen run: sampled/forced tokens, logits, fed tokens, activations."""

    def __init__(self, model: LMModel, steps: int, forced_text=None, forced_audio=None):
        self.model = model
        self.steps = steps
        self.forced_text = forced_text
        self.forced_audio = forced_audio
        self.calls_in_step = 0
        self.step = 0
        self.text_logits: list[np.ndarray] = []
        self.audio_logits: list[list[np.ndarray]] = []
        self.sampled_text: list[int] = []
        self.sampled_audio: list[list[int]] = []
        self.temporal_tokens: list[np.ndarray] = []
        self.temporal_input: list[np.ndarray] = []
        self.temporal_out: list[np.ndarray] = []
        self.depformer_tokens: list[list[int]] = []
        self.depformer_input: list[list[np.ndarray]] = []
        self.depformer_out: list[list[np.ndarray]] = []

    # LMGen samples through the module-level `sample_token`; the first call of a step is the
    # text token, the next dep_q calls are the depformer's audio tokens.
    def sample_token(self, logits, use_sampling=False, temp=1.0, top_k=0, top_p=0.0):
        flat = logits.reshape(-1).detach().numpy().astype(np.float32).copy()
        if self.calls_in_step == 0:
            self.text_logits.append(flat)
            self.audio_logits.append([])
            forced = None if self.forced_text is None else int(self.forced_text[self.step])
        else:
            self.audio_logits[-1].append(flat)
            k = self.calls_in_step - 1
            forced = None if self.forced_audio is None else int(self.forced_audio[self.step, k])
        if forced is None:
            token = ORIGINAL_SAMPLE_TOKEN(logits, use_sampling, temp, top_k, top_p)
        else:
            token = torch.full(logits.shape[:-1], forced, dtype=torch.long)
        value = int(token.reshape(-1)[0])
        if self.calls_in_step == 0:
            self.sampled_text.append(value)
            self.sampled_audio.append([])
        else:
            self.sampled_audio[-1].append(value)
        self.calls_in_step += 1
        if self.calls_in_step == 1 + self.model.dep_q:
            self.calls_in_step = 0
            self.step += 1
        return token


ORIGINAL_SAMPLE_TOKEN = lm_module.sample_token


def run_lmgen(model: LMModel, user_codes: np.ndarray, forced_text=None, forced_audio=None) -> dict:
    """One streaming LMGen run over all user frames; greedy unless tokens are forced."""
    steps = user_codes.shape[0]
    cap = Capture(model, steps, forced_text, forced_audio)
    hooks = []
    original_forward_text = model.forward_text
    original_forward_depformer = model.forward_depformer

    def forward_text(sequence, *args, **kwargs):
        cap.temporal_tokens.append(sequence.reshape(-1).numpy().astype(np.int32).copy())
        cap.depformer_tokens.append([])
        cap.depformer_input.append([])
        cap.depformer_out.append([])
        return original_forward_text(sequence, *args, **kwargs)

    def forward_depformer(cb_index, sequence, transformer_out):
        cap.depformer_tokens[-1].append(int(sequence.reshape(-1)[0]))
        return original_forward_depformer(cb_index, sequence, transformer_out)

    hooks.append(model.transformer.register_forward_pre_hook(
        lambda _m, args: cap.temporal_input.append(args[0].reshape(-1).numpy().copy())))
    hooks.append(model.out_norm.register_forward_hook(
        lambda _m, _a, out: cap.temporal_out.append(out.reshape(-1).numpy().copy())))
    hooks.append(model.depformer.register_forward_pre_hook(
        lambda _m, args: cap.depformer_input[-1].append(args[0].reshape(-1).numpy().copy())))
    hooks.append(model.depformer.register_forward_hook(
        lambda _m, _a, out: cap.depformer_out[-1].append(out.reshape(-1).numpy().copy())))

    lm_module.sample_token = cap.sample_token
    model.forward_text = forward_text  # picked up by LMGen when its streaming state starts
    model.forward_depformer = forward_depformer
    returned = np.zeros(steps, dtype=np.int32)
    frames = np.full((steps, 1 + model.dep_q), -1, dtype=np.int32)
    try:
        gen = LMGen(model, use_sampling=False, check=True)
        with gen.streaming(1):
            for t in range(steps):
                codes = torch.from_numpy(user_codes[t].astype(np.int64))[None, :, None]
                out = gen.step(codes)
                if out is not None:
                    returned[t] = 1
                    frames[t] = out.reshape(-1).numpy().astype(np.int32)
    finally:
        lm_module.sample_token = ORIGINAL_SAMPLE_TOKEN
        del model.forward_text
        del model.forward_depformer
        for h in hooks:
            h.remove()

    dq = model.dep_q
    assert cap.step == steps and len(cap.text_logits) == steps
    audio_logits = np.stack([np.stack(a) for a in cap.audio_logits]).astype(np.float32)
    text_logits = np.stack(cap.text_logits).astype(np.float32)
    return {
        "text_logits": text_logits,
        "audio_logits": audio_logits,
        "sampled_text": np.array(cap.sampled_text, dtype=np.int32),
        "sampled_audio": np.array(cap.sampled_audio, dtype=np.int32).reshape(steps, dq),
        "temporal_tokens": np.stack(cap.temporal_tokens).astype(np.int32),
        "depformer_tokens": np.array(cap.depformer_tokens, dtype=np.int32).reshape(steps, dq),
        "temporal_input": np.stack(cap.temporal_input).astype(np.float32),
        "temporal_out": np.stack(cap.temporal_out).astype(np.float32),
        "depformer_input": np.array(cap.depformer_input, dtype=np.float32).reshape(steps, dq, -1),
        "depformer_out": np.array(cap.depformer_out, dtype=np.float32).reshape(steps, dq, -1),
        "returned": returned,
        "frames": frames,
        "text_margin": top2_margin(text_logits),
        "audio_margin": top2_margin(audio_logits),
    }


def top2_margin(logits: np.ndarray) -> np.ndarray:
    """Gap between the largest and second largest logit along the last axis."""
    part = np.sort(logits, axis=-1)
    return (part[..., -1] - part[..., -2]).astype(np.float32)


def calibrate_heads(model: LMModel, user_codes, forced_text, forced_audio) -> dict:
    """Scale text_linear and linears[k] so their logits have std LOGIT_STD (2 digits)."""
    run = run_lmgen(model, user_codes, forced_text, forced_audio)
    gains = {"text_linear": two_digits(LOGIT_STD / float(run["text_logits"].std()))}
    for k in range(model.dep_q):
        gains[f"linears.{k}"] = two_digits(LOGIT_STD / float(run["audio_logits"][:, k].std()))
    with torch.no_grad():
        model.text_linear.weight.mul_(gains["text_linear"])
        for k in range(model.dep_q):
            model.linears[k].weight.mul_(gains[f"linears.{k}"])
    return gains


# ----------------------------------------------------------------------------------------
# Layouts: names
# ----------------------------------------------------------------------------------------

def official_pytorch_state(model: LMModel) -> dict[str, torch.Tensor]:
    """The model's weights under the names of Kyutai's PyTorch checkpoints.

    `model.state_dict()` names the per-step attention projections `in_projs.{s}.weight` /
    `out_projs.{s}.weight`; the published checkpoints store one `in_proj_weight` /
    `out_proj.weight` per attention with the steps stacked along dim 0, which the reference's
    load hook splits again. Everything else is named as in `state_dict()`.
    """
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    out: dict[str, torch.Tensor] = {}
    stacked: dict[str, list[tuple[int, torch.Tensor]]] = {}
    for name, value in state.items():
        for proj, official in (("in_projs", "in_proj_weight"), ("out_projs", "out_proj.weight")):
            marker = f".self_attn.{proj}."
            if marker in name:
                prefix, rest = name.split(marker)
                step = int(rest.split(".")[0])
                stacked.setdefault(f"{prefix}.self_attn.{official}", []).append((step, value))
                break
        else:
            out[name] = value
    for name, parts in stacked.items():
        parts.sort(key=lambda p: p[0])
        out[name] = torch.cat([p[1] for p in parts], dim=0).contiguous()
    return dict(sorted(out.items()))


def pytorch_to_candle(state: dict, config: dict) -> dict:
    """PyTorch checkpoint names -> candle (`scripts/import_rust.py`, RS `lm.rs`) names."""
    dq, layers = config["dep_q"], config["depformer_num_layers"]
    out = {}
    for name, value in state.items():
        if name.startswith(("text_emb.", "text_linear.", "out_norm.", "emb.", "transformer.")):
            out[name] = value
    for k in range(dq):
        base = f"depformer.{k}."
        out[base + "linear_in.weight"] = state[f"depformer_in.{k}.weight"]
        out[base + "linear_out.weight"] = state[f"linears.{k}.weight"]
        out[base + "emb.weight"] = (state["depformer_text_emb.weight"] if k == 0
                                    else state[f"depformer_emb.{k - 1}.weight"])
        for j in range(layers):
            src, dst = f"depformer.layers.{j}.", f"{base}transformer.layers.{j}."
            out[dst + "self_attn.in_proj_weight"] = state[src + "self_attn.in_proj_weight"].chunk(dq)[k]
            out[dst + "self_attn.out_proj.weight"] = state[src + "self_attn.out_proj.weight"].chunk(dq)[k]
            out[dst + "norm1.alpha"] = state[src + "norm1.alpha"]
            out[dst + "norm2.alpha"] = state[src + "norm2.alpha"]
            out[dst + "gating.linear_in.weight"] = state[src + f"gating.{k}.linear_in.weight"]
            out[dst + "gating.linear_out.weight"] = state[src + f"gating.{k}.linear_out.weight"]
    return {k: v.contiguous().clone() for k, v in sorted(out.items())}


def candle_to_pytorch(state: dict, config: dict) -> dict:
    """Inverse of `pytorch_to_candle` (norm alphas are taken from depformer slice 0)."""
    dq, layers = config["dep_q"], config["depformer_num_layers"]
    out = {}
    for name, value in state.items():
        if not name.startswith("depformer."):
            out[name] = value
    for k in range(dq):
        base = f"depformer.{k}."
        out[f"depformer_in.{k}.weight"] = state[base + "linear_in.weight"]
        out[f"linears.{k}.weight"] = state[base + "linear_out.weight"]
        out["depformer_text_emb.weight" if k == 0 else f"depformer_emb.{k - 1}.weight"] = state[base + "emb.weight"]
    for j in range(layers):
        dst = f"depformer.layers.{j}."
        srcs = [f"depformer.{k}.transformer.layers.{j}." for k in range(dq)]
        out[dst + "self_attn.in_proj_weight"] = torch.cat([state[s + "self_attn.in_proj_weight"] for s in srcs])
        out[dst + "self_attn.out_proj.weight"] = torch.cat([state[s + "self_attn.out_proj.weight"] for s in srcs])
        out[dst + "norm1.alpha"] = state[srcs[0] + "norm1.alpha"]
        out[dst + "norm2.alpha"] = state[srcs[0] + "norm2.alpha"]
        for k in range(dq):
            out[dst + f"gating.{k}.linear_in.weight"] = state[srcs[k] + "gating.linear_in.weight"]
            out[dst + f"gating.{k}.linear_out.weight"] = state[srcs[k] + "gating.linear_out.weight"]
    return out


def candle_to_mlx_name(name: str) -> str:
    """candle name -> MLX name (`scripts/import_mlx.py`, `moshi_mlx/models/lm.py`)."""
    if name.startswith("emb."):
        name = "audio_embs." + name[len("emb."):]
    if name.startswith("depformer."):
        name = "depformer.slices." + name[len("depformer."):]
    name = name.replace(".in_proj_weight", ".in_proj.weight")
    if name.endswith(".alpha"):
        name = name[: -len(".alpha")] + ".weight"
    return name


def mlx_to_candle_name(name: str) -> str:
    if name.startswith("audio_embs."):
        name = "emb." + name[len("audio_embs."):]
    if name.startswith("depformer.slices."):
        name = "depformer." + name[len("depformer.slices."):]
    name = name.replace(".in_proj.weight", ".in_proj_weight")
    if name.endswith(("norm1.weight", "norm2.weight")) or name == "out_norm.weight":
        name = name[: -len(".weight")] + ".alpha"
    return name


# ----------------------------------------------------------------------------------------
# Layouts: number formats
# ----------------------------------------------------------------------------------------

def to_bf16_f32(x: np.ndarray) -> np.ndarray:
    """Round f32 values to the nearest bf16 (ties to even), returned as f32."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(torch.bfloat16).float().numpy()


def mlx_affine_quantize(w: np.ndarray, bits: int, group_size: int, bf16: bool):
    """MLX's own affine quantizer, `mx.quantize` (the one Kyutai's `scripts/import_mlx.py` /
    `nn.quantize` apply to the published files), on `w` as f32 or, with `bf16`, cast to bf16
    first as the published q4 file is. Returns (packed uint32 [rows, cols*bits/32], scales,
    biases) as numpy f32 arrays (bf16 values widened exactly when `bf16`).
    """
    import mlx.core as mx
    x = mx.array(np.ascontiguousarray(w, dtype=np.float32))
    if bf16:
        x = x.astype(mx.bfloat16)
    packed, scales, biases = mx.quantize(x, group_size=group_size, bits=bits)
    return (np.array(packed).astype(np.uint32), np.array(scales.astype(mx.float32)),
            np.array(biases.astype(mx.float32)))


def mlx_affine_dequantize(packed: np.ndarray, scales: np.ndarray, biases: np.ndarray,
                          bits: int, group_size: int) -> np.ndarray:
    """scale * q + bias in f32 (scales/biases widened to f32 first), one rounding each: the
    arithmetic of MLX's quantized matmul (`mx.quantized_matmul` widens to f32), which is what
    a model loaded from these files computes; `make_lm_fixtures_mlx.py` replays the files in
    `moshi_mlx` itself and records its logits as a second expectation."""
    rows, words = packed.shape
    per_word = 32 // bits
    mask = np.uint32((1 << bits) - 1)
    q = np.stack([(packed >> np.uint32(bits * j)) & mask for j in range(per_word)], axis=-1)
    q = q.reshape(rows, words * per_word).astype(np.float32)
    cols = q.shape[1]
    s = np.repeat(scales.astype(np.float32), group_size, axis=1)[:, :cols]
    b = np.repeat(biases.astype(np.float32), group_size, axis=1)[:, :cols]
    return (s * q + b).astype(np.float32)


def gguf_should_quantize(value: np.ndarray) -> bool:
    """candle `tensor-tools quantize` rule: rank-2 tensors whose width is a multiple of 32."""
    return value.ndim == 2 and value.shape[1] % 32 == 0


# ----------------------------------------------------------------------------------------
# Layout writers and readers (readers return f32 PyTorch-named state for the reference)
# ----------------------------------------------------------------------------------------

def write_candle_bf16(pt_state: dict, config: dict, path: Path) -> None:
    candle = pytorch_to_candle(pt_state, config)
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in candle.items()}, str(path))


def read_candle(path: Path, config: dict) -> dict:
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    return candle_to_pytorch(state, config)


def write_gguf_q8_0(pt_state: dict, config: dict, path: Path) -> dict:
    import gguf
    candle = pytorch_to_candle(pt_state, config)
    writer = gguf.GGUFWriter(str(path), arch="moshi")
    kinds = {}
    for name, value in candle.items():
        arr = value.numpy().astype(np.float32)
        if gguf_should_quantize(arr):
            data = gguf.quants.quantize(arr, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, data, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            kinds[name] = "Q8_0"
        else:
            writer.add_tensor(name, arr)
            kinds[name] = "F32"
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return kinds


def read_gguf(path: Path, config: dict) -> dict:
    import gguf
    reader = gguf.GGUFReader(str(path))
    state = {}
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape.tolist())]  # GGUF lists dims innermost first
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        state[t.name] = torch.from_numpy(values.copy())
    return candle_to_pytorch(state, config)


def write_mlx(pt_state: dict, config: dict, path: Path, bits: int, group_size: int,
              bf16: bool) -> None:
    """MLX layout after `nn.quantize`: every Linear/Embedding as (weight u32, scales, biases).

    With `bf16`, the model is first cast to bf16 (as the published files): the values that
    are quantized, the scales, the biases and the norm weights are bf16.
    """
    candle = pytorch_to_candle(pt_state, config)
    out = {}
    for name, value in candle.items():
        arr = value.numpy().astype(np.float32)
        if bf16:
            arr = to_bf16_f32(arr)
        mlx_name = candle_to_mlx_name(name)
        if name.endswith(".alpha"):
            flat = arr.reshape(-1)
            out[mlx_name] = bf16_bytes(flat) if bf16 else flat
            continue
        assert arr.ndim == 2 and mlx_name.endswith(".weight"), name
        packed, scales, biases = mlx_affine_quantize(arr, bits, group_size, bf16)
        stem = mlx_name[: -len(".weight")]
        out[stem + ".weight"] = packed
        out[stem + ".scales"] = bf16_bytes(scales) if bf16 else scales
        out[stem + ".biases"] = bf16_bytes(biases) if bf16 else biases
    save_mixed(out, path)


def bf16_bytes(x: np.ndarray) -> "BF16":
    return BF16(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(torch.bfloat16))


class BF16:
    """Marks a tensor to be stored as BF16 by `save_mixed`."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor


def save_mixed(tensors: dict, path: Path) -> None:
    """Save numpy arrays (u32/f32) and BF16-marked tensors in one safetensors file."""
    out = {}
    for name, value in tensors.items():
        out[name] = value.tensor if isinstance(value, BF16) else torch.from_numpy(np.ascontiguousarray(value))
    save_file({k: v.contiguous() for k, v in sorted(out.items())}, str(path))


def read_mlx(path: Path, config: dict, bits: int, group_size: int) -> dict:
    from safetensors import safe_open
    tensors = {}
    with safe_open(str(path), "pt") as f:
        for name in f.keys():
            tensors[name] = f.get_tensor(name)
    state = {}
    for name, value in tensors.items():
        if name.endswith((".scales", ".biases")):
            continue
        stem = name[: -len(".weight")]
        if stem + ".scales" in tensors:
            assert value.dtype == torch.uint32, name
            w = mlx_affine_dequantize(value.numpy(), tensors[stem + ".scales"].float().numpy(),
                                      tensors[stem + ".biases"].float().numpy(), bits, group_size)
            state[mlx_to_candle_name(name)] = torch.from_numpy(w)
        else:  # a norm weight [dim] -> alpha [1, 1, dim]
            state[mlx_to_candle_name(name)] = value.float().reshape(1, 1, -1)
    return candle_to_pytorch(state, config)


# ----------------------------------------------------------------------------------------
# SentencePiece
# ----------------------------------------------------------------------------------------

def make_tokenizer(vocab_size: int) -> tuple[bytes, dict]:
    import sentencepiece as spm
    spm.set_random_generator_seed(1234)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TOKENIZER_TEXT * 10), model_writer=model,
        vocab_size=vocab_size, model_type="unigram", byte_fallback=True,
        character_coverage=1.0, normalization_rule_name="identity",
        unk_id=0, bos_id=1, eos_id=2, pad_id=3, num_threads=1, minloglevel=2,
    )
    blob = model.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=blob)
    assert sp.get_piece_size() == vocab_size
    pieces = [sp.id_to_piece(i) for i in range(vocab_size)]
    byte_ids = [i for i in range(vocab_size) if sp.is_byte(i)]
    word_ids = [i for i in range(vocab_size)
                if not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i)) and pieces[i].startswith("\u2581")]
    cont_ids = [i for i in range(vocab_size)
                if not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i)) and not pieces[i].startswith("\u2581")]

    def byte_id(b: int) -> int:
        return sp.piece_to_id(f"<0x{b:02X}>")

    sequences = {
        "encoded_sentence": sp.encode("Hello, how are you today?"),
        "encoded_with_pads": [3, 3] + sp.encode("We talk about music.")[:3] + [3, 0, 3] + sp.encode("We talk about music.")[3:] + [0, 3],
        "unknown_word_bytes": sp.encode("Zürich ok"),
        "euro_sign_bytes": [3, byte_id(0xE2), byte_id(0x82), byte_id(0xAC), 3],
        "leading_continuation": [cont_ids[0], word_ids[0], cont_ids[1], 3, word_ids[1]],
        "only_specials": [3, 0, 3, 3, 0],
        "bos_eos_inside": [1] + sp.encode("the sun") + [2],
    }
    expected = {
        "vocab_size": vocab_size,
        "special_ids": {"unk_or_epad": 0, "bos": 1, "eos": 2, "pad": 3},
        "byte_piece_ids": {"first": byte_ids[0], "last": byte_ids[-1], "count": len(byte_ids)},
        "pieces": pieces,
        "sequences": {},
    }
    for name, ids in sequences.items():
        ids = [int(i) for i in ids]
        kept = [i for i in ids if i not in (0, 3)]
        expected["sequences"][name] = {
            "ids": ids,
            "pieces": [pieces[i] for i in ids],
            # PY server / client: skip 0 and 3, id_to_piece, U+2581 -> " ", concatenated.
            "piece_text": "".join(pieces[i].replace("\u2581", " ") for i in kept),
            # sp.decode of the ids with 0 and 3 removed (RS transcript; byte pieces joined).
            "decoded": sp.decode(kept),
        }
    return blob, expected


# ----------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------

def io_tensors(prefix: str, run: dict, keys: list[str]) -> dict:
    return {f"{prefix}{k}": np.ascontiguousarray(run[k]) for k in keys}


def load_reference_from(state: dict, config: dict) -> LMModel:
    model = build_model(config)
    model.load_state_dict(state, strict=True)
    return model.eval()


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


class NotInformative(Exception):
    """A run whose greedy tokens hardly vary or hinge on a near tie: try other weights."""


def check_informative(run: dict, label: str) -> dict:
    """Greedy tokens must vary and must not hinge on rounding."""
    text = run["sampled_text"]
    audio = run["sampled_audio"]
    stats = {
        "distinct_greedy_text": int(len(set(text.tolist()))),
        "distinct_greedy_audio_per_codebook": [int(len(set(audio[:, k].tolist()))) for k in range(audio.shape[1])],
        "min_text_margin": float(run["text_margin"].min()),
        "min_audio_margin": float(run["audio_margin"].min()),
    }
    if stats["distinct_greedy_text"] < 4 or min(stats["distinct_greedy_audio_per_codebook"]) < 4:
        raise NotInformative(f"{label}: greedy tokens hardly vary: {stats}")
    if min(stats["min_text_margin"], stats["min_audio_margin"]) < MIN_GREEDY_MARGIN:
        raise NotInformative(f"{label}: a greedy choice is a near tie: {stats}")
    return stats


def make_config(seed: int, config: dict, manifest: dict) -> None:
    """Write one configuration, trying weight draws until every greedy run is informative."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            make_config_attempt(seed, attempt, config, manifest)
            return
        except NotInformative as reason:
            print(f"seed {seed}, weight draw {attempt} rejected: {reason}")
    raise SystemExit(f"seed {seed}: no informative weight draw in {MAX_ATTEMPTS} attempts")


def make_config_attempt(seed: int, attempt: int, config: dict, manifest: dict) -> None:
    steps = STEPS[seed]
    n_user = config["n_q"] - config["dep_q"]
    rng = np.random.default_rng(2000 + seed)
    user_codes = rng.integers(0, config["card"], size=(steps, n_user)).astype(np.int32)
    u = rng.random(steps)
    forced_text = rng.integers(0, config["text_card"], size=steps)
    forced_text = np.where(u < FORCED_PAD_FRACTION, 3, forced_text)
    forced_text = np.where((u >= FORCED_PAD_FRACTION) & (u < FORCED_PAD_FRACTION + FORCED_EPAD_FRACTION), 0, forced_text)
    forced_text = forced_text.astype(np.int32)
    forced_audio = rng.integers(0, config["card"], size=(steps, config["dep_q"])).astype(np.int32)

    model = build_model(config)
    randomize(model, 100 * attempt + seed)
    round_to_bf16(model)
    gains = calibrate_heads(model, user_codes, forced_text, forced_audio)
    round_to_bf16(model)

    forced = run_lmgen(model, user_codes, forced_text, forced_audio)
    greedy = run_lmgen(model, user_codes)
    assert (forced["sampled_text"] == forced_text).all() and (forced["sampled_audio"] == forced_audio).all()
    info = {"weight_draw": attempt, "weight_rng_seed": 1000 + 100 * attempt + seed, "head_gains": gains, "greedy": check_informative(greedy, f"seed {seed}")}
    info["forced_logit_std"] = {"text": float(forced["text_logits"].std()),
                                "audio": float(forced["audio_logits"].std())}
    info["greedy_mean_top1_prob_text"] = float(np.mean(np.max(softmax(greedy["text_logits"]), -1)))
    info["greedy_mean_top1_prob_audio"] = float(np.mean(np.max(softmax(greedy["audio_logits"]), -1)))

    # Weights in the official PyTorch layout; the reference loader must reproduce the runs.
    pt_state = official_pytorch_state(model)
    weights_path = FIXTURES / f"lm_seed{seed}.safetensors"
    save_file(pt_state, str(weights_path))
    config_path = FIXTURES / f"lm_seed{seed}_config.json"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    reloaded = loaders.get_moshi_lm(str(weights_path), lm_kwargs=json.loads(config_path.read_text()),
                                    device="cpu", dtype=torch.float32).eval()
    again = run_lmgen(reloaded, user_codes, forced_text, forced_audio)
    # Same values; the loaded tensors sit at other addresses, so BLAS may sum in another
    # order: the reference's own noise level, recorded for comparison with a port.
    info["reload_max_abs_diff"] = {
        "text_logits": float(np.abs(again["text_logits"] - forced["text_logits"]).max()),
        "audio_logits": float(np.abs(again["audio_logits"] - forced["audio_logits"]).max()),
    }
    assert max(info["reload_max_abs_diff"].values()) < 1e-4
    info["parameters"] = int(sum(v.numel() for v in pt_state.values()))
    info["tensors"] = len(pt_state)

    # The ring cache matters: the same weights with a context longer than the run agree
    # before the first wrap and differ after it.
    long_ctx = copy.deepcopy(model)
    for layer in long_ctx.transformer.layers:
        layer.self_attn.context = steps + 8
    long_run = run_lmgen(long_ctx, user_codes, forced_text, forced_audio)
    c = config["context"]
    info["ring_cache_check"] = {
        "max_abs_diff_steps_before_context": float(np.abs(long_run["text_logits"][:c] - forced["text_logits"][:c]).max()),
        "max_abs_diff_steps_from_context": float(np.abs(long_run["text_logits"][c:] - forced["text_logits"][c:]).max()),
    }
    assert info["ring_cache_check"]["max_abs_diff_steps_before_context"] < 1e-4
    assert info["ring_cache_check"]["max_abs_diff_steps_from_context"] > 0.1

    tensors = {
        "user_codes": user_codes,
        "forced_text": forced_text,
        "forced_audio": forced_audio,
    }
    tensors.update(io_tensors("", forced, ["text_logits", "audio_logits"]))
    tensors.update({
        "forced_temporal_tokens": forced["temporal_tokens"],
        "forced_depformer_tokens": forced["depformer_tokens"],
        "forced_returned": forced["returned"],
        "forced_frames": forced["frames"],
        "temporal_input": forced["temporal_input"],
        "temporal_out": forced["temporal_out"],
        "depformer_input": forced["depformer_input"],
        "depformer_out": forced["depformer_out"],
        "greedy_returned": greedy["returned"],
        "greedy_text": greedy["frames"][:, 0].copy(),
        "greedy_audio": greedy["frames"][:, 1:].copy(),
        "greedy_sampled_text": greedy["sampled_text"],
        "greedy_sampled_audio": greedy["sampled_audio"],
        "greedy_temporal_tokens": greedy["temporal_tokens"],
        "greedy_text_margin": greedy["text_margin"],
        "greedy_audio_margin": greedy["audio_margin"],
    })

    info["layouts"] = write_layouts(seed, config, pt_state, forced, user_codes, forced_text,
                                    forced_audio, tensors)

    save_numpy({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())},
               str(FIXTURES / f"lm_seed{seed}_io.safetensors"))
    manifest["configs"][str(seed)] = info


def write_layouts(seed, config, pt_state, forced, user_codes, forced_text, forced_audio, tensors) -> dict:
    layouts = {}
    filenames = {
        "candle_bf16": f"lm_seed{seed}_candle_bf16.safetensors",
        "gguf_q8_0": f"lm_seed{seed}_q8_0.gguf",
        "mlx_q8": f"lm_seed{seed}_mlx_q8.safetensors",
        "mlx_q4": f"lm_seed{seed}_mlx_q4.safetensors",
    }
    for layout in LAYOUTS[seed]:
        filename = filenames[layout]
        path = FIXTURES / filename
        entry: dict = {"file": filename}
        if layout == "candle_bf16":
            write_candle_bf16(pt_state, config, path)
            state = read_candle(path, config)
        elif layout == "gguf_q8_0":
            kinds = write_gguf_q8_0(pt_state, config, path)
            entry["tensor_types"] = {t: sum(1 for v in kinds.values() if v == t) for t in sorted(set(kinds.values()))}
            state = read_gguf(path, config)
        elif layout == "mlx_q8":
            write_mlx(pt_state, config, path, bits=8, group_size=64, bf16=False)
            state = read_mlx(path, config, bits=8, group_size=64)
        else:
            write_mlx(pt_state, config, path, bits=4, group_size=32, bf16=True)
            state = read_mlx(path, config, bits=4, group_size=32)
        assert sorted(state) == sorted(pt_state)
        entry["max_rel_weight_error"] = max(
            float((state[k] - pt_state[k]).abs().max() / pt_state[k].abs().max()) for k in pt_state)
        if layout == "candle_bf16":
            # Lossless: the bf16 file holds exactly the f32 file's numbers.
            assert all(torch.equal(state[k], pt_state[k]) for k in pt_state)
            layouts[layout] = entry
            continue
        model = load_reference_from(state, config)
        forced_l = run_lmgen(model, user_codes, forced_text, forced_audio)
        greedy_l = run_lmgen(model, user_codes)
        entry["greedy"] = check_informative(greedy_l, f"seed {seed} {layout}")
        entry["forced_text_logits_rel_l2_vs_f32"] = rel_l2(forced_l["text_logits"], forced["text_logits"])
        entry["forced_audio_logits_rel_l2_vs_f32"] = rel_l2(forced_l["audio_logits"], forced["audio_logits"])
        entry["greedy_text_steps_equal_to_f32"] = int((greedy_l["sampled_text"] == tensors["greedy_sampled_text"]).sum())
        prefix = layout + "."
        tensors.update({
            prefix + "text_logits": forced_l["text_logits"],
            prefix + "audio_logits": forced_l["audio_logits"],
            prefix + "greedy_text": greedy_l["frames"][:, 0].copy(),
            prefix + "greedy_audio": greedy_l["frames"][:, 1:].copy(),
            prefix + "greedy_sampled_text": greedy_l["sampled_text"],
            prefix + "greedy_sampled_audio": greedy_l["sampled_audio"],
            prefix + "greedy_text_margin": greedy_l["text_margin"],
            prefix + "greedy_audio_margin": greedy_l["audio_margin"],
        })
        layouts[layout] = entry
    return layouts


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main() -> None:
    version = importlib.metadata.version("moshi")
    if version != REFERENCE_VERSION:
        sys.exit(f"moshi {version} installed; these fixtures are defined by moshi=={REFERENCE_VERSION}")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    manifest = {
        "versions": {"moshi": version, "torch": torch.__version__, "numpy": np.__version__,
                     "safetensors": importlib.metadata.version("safetensors"),
                     "gguf": importlib.metadata.version("gguf"),
                     "sentencepiece": importlib.metadata.version("sentencepiece"),
                     "python": sys.version.split()[0]},
        "steps": {str(k): v for k, v in STEPS.items()},
        "configs": {},
    }
    for seed, config in CONFIGS.items():
        make_config(seed, config, manifest)

    blob, expected = make_tokenizer(CONFIGS[0]["text_card"])
    (FIXTURES / "tokenizer_small.model").write_bytes(blob)
    (FIXTURES / "tokenizer_small_expected.json").write_text(
        json.dumps(expected, indent=1, ensure_ascii=False) + "\n")

    (FIXTURES / "lm_fixtures_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for path in sorted(FIXTURES.iterdir()):
        print(f"{path.stat().st_size:>9}  {path.name}")


if __name__ == "__main__":
    main()

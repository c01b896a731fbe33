#!/usr/bin/env python3
"""Reference fixtures for the Swift Mimi port, produced by Kyutai's own PyTorch Mimi.

What it does
    Builds small Mimi codecs with the reference classes (configured like
    `moshi.models.loaders.get_mimi`, but narrow), gives every tensor random values
    that make the outputs informative, runs the reference in streaming mode frame by
    frame on a few seconds of espeak-ng speech, and writes weights (official tensor
    names), config, input, codes, decoded audio and intermediates under
    `Tests/MimiTests/Fixtures/`.  See that folder's README.md for the file contents and
    the reference behaviours the port must reproduce.

Requirements (pinned)
    moshi==0.2.13 from PyPI, which brings torch<2.10 (2.9.1 was used), numpy,
    safetensors, einops, huggingface_hub, sentencepiece...; espeak-ng 1.51 (Debian).
    The reference is installed outside the repository:

        python3 -m venv /work/ref-venv
        /work/ref-venv/bin/pip install moshi==0.2.13

    That plain install pulls PyPI's Linux torch wheel with its nvidia-* CUDA wheels
    (about 7 GB in the venv, 95 s on this machine); it runs on the CPU without a GPU.
    Untested alternative without the CUDA wheels: `pip install --no-deps torch==2.9.1`
    plus filelock typing-extensions sympy networkx jinja2 fsspec, then moshi==0.2.13
    and its other requirements (numpy safetensors einops huggingface_hub sentencepiece ...).

Usage
    /work/ref-venv/bin/python Tests/Fixtures/make_mimi_fixtures.py            # small fixtures
    /work/ref-venv/bin/python Tests/Fixtures/make_mimi_fixtures.py --full DIR # full size, ~385 MB

Determinism
    All randomness comes from seeded torch generators; torch runs on one thread; weight
    scale factors found from activation statistics are rounded to two significant
    digits, so a rerun with the same versions writes the same tensors.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from moshi.models import loaders
from moshi.models.compression import MimiModel
from moshi.modules.conv import StreamingConv1d, StreamingConvTranspose1d
from moshi.modules.seanet import SEANetResnetBlock

REFERENCE_VERSION = "0.2.13"
SAMPLE_RATE = 24_000
FRAME_SIZE = 1920
SPEECH_TEXT = "This is a short test of the streaming codec."
FIXTURES = Path(__file__).resolve().parent.parent / "MimiTests" / "Fixtures"

# Small configurations. Ratios, kernel sizes, strides, frame rate and sample rate are the
# official ones (1920-sample frames, 25 Hz encoder rate, stride-2 resampling); widths are
# narrow. Contexts are a few latent steps so that a 3 s clip wraps the ring KV cache;
# 9 is odd so the two keys written per step sometimes straddle the end of the ring.
SMALL_CONFIGS = {
    0: dict(n_filters=4, dimension=32, num_heads=2, num_layers=2, dim_feedforward=64,
            context=12, codebook_dim=16, bins=64, n_q=12, num_codebooks=8,
            tiny_usage_rows=0),
    1: dict(n_filters=4, dimension=48, num_heads=4, num_layers=2, dim_feedforward=96,
            context=9, codebook_dim=24, bins=96, n_q=12, num_codebooks=8,
            tiny_usage_rows=2),
}


# --------------------------------------------------------------------------- config

def mimi_config(small: dict | None) -> dict:
    """The get_mimi config dict: the official one, or narrowed by `small`."""
    cfg = copy.deepcopy(loaders._mimi_config)
    if small is None:
        return cfg
    d = small["dimension"]
    cfg["seanet"].update(n_filters=small["n_filters"], dimension=d)
    cfg["transformer"].update(
        d_model=d, num_heads=small["num_heads"], num_layers=small["num_layers"],
        dim_feedforward=small["dim_feedforward"], context=small["context"],
        input_dimension=d, output_dimensions=[d])
    cfg["quantizer"].update(
        dimension=small["codebook_dim"], n_q=small["n_q"], bins=small["bins"],
        input_dimension=d, output_dimension=d)
    return cfg


def config_json(cfg: dict, num_codebooks: int, seed: int | None) -> dict:
    """Every hyper-parameter the Swift side needs, with derived figures spelled out."""
    seanet = dict(cfg["seanet"])
    hop = int(np.prod(seanet["ratios"]))
    encoder_rate = cfg["sample_rate"] / hop
    return {
        "reference": f"moshi=={REFERENCE_VERSION}",
        "torch": torch.__version__,
        "seed": seed,
        "sample_rate": cfg["sample_rate"],
        "channels": cfg["channels"],
        "frame_rate": cfg["frame_rate"],
        "frame_size": int(cfg["sample_rate"] / cfg["frame_rate"]),
        "encoder_frame_rate": encoder_rate,
        "hop_length": hop,
        "seanet": {**seanet,
                   "encoder_ratios": list(reversed(seanet["ratios"])),
                   "decoder_ratios": list(seanet["ratios"]),
                   "activation_alpha": 1.0,
                   "final_activation": None},
        "transformer": {**cfg["transformer"],
                        "head_dim": cfg["transformer"]["d_model"] // cfg["transformer"]["num_heads"],
                        "layer_norm_eps": 1e-5,
                        "rope_interleaved": True,
                        "ffn_activation": "gelu_erf",
                        "bias": False},
        "quantizer": {**cfg["quantizer"], "n_q_semantic": 1, "codebook_epsilon": 1e-5},
        "num_codebooks": num_codebooks,
        "downsample": {"stride": int(encoder_rate / cfg["frame_rate"]), "kernel_size": 4,
                       "groups": 1, "bias": False, "pad_mode": "replicate"},
        "upsample": {"stride": int(encoder_rate / cfg["frame_rate"]), "kernel_size": 4,
                     "groups": seanet["dimension"], "bias": False},
    }


# --------------------------------------------------------------------------- audio

def kaiser_resample(x: np.ndarray, sr_in: int, sr_out: int, half_taps: int = 32,
                    beta: float = 8.6) -> np.ndarray:
    """Band-limited resampling by a Kaiser-windowed sinc, in float64 (deterministic)."""
    n_out = int(math.floor(len(x) * sr_out / sr_in))
    cutoff = 0.95 * min(sr_in, sr_out) / 2 / sr_in            # cycles per input sample
    t = np.arange(n_out) * (sr_in / sr_out)                   # output times, input samples
    base = np.floor(t).astype(np.int64)
    offsets = np.arange(-half_taps + 1, half_taps + 1)
    idx = base[:, None] + offsets[None, :]
    dt = t[:, None] - idx
    window = np.kaiser(2 * half_taps + 1, beta)
    # Kaiser window evaluated at the fractional distance (linear interpolation of the table).
    wpos = (dt / half_taps + 1.0) * half_taps
    w = np.interp(wpos, np.arange(2 * half_taps + 1), window, left=0.0, right=0.0)
    h = 2 * cutoff * np.sinc(2 * cutoff * dt) * w
    valid = (idx >= 0) & (idx < len(x))
    xs = np.where(valid, x[np.clip(idx, 0, len(x) - 1)], 0.0)
    return (xs * h).sum(axis=1)


def make_speech(text: str = SPEECH_TEXT) -> np.ndarray:
    """espeak-ng speech at 24 kHz, peak 0.6, quantized to 16 bits (returned as int16)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "160", "-w", str(path), text], check=True)
        with wave.open(str(path), "rb") as f:
            assert f.getnchannels() == 1 and f.getsampwidth() == 2, "unexpected espeak-ng output"
            sr = f.getframerate()
            raw = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float64)
    y = kaiser_resample(raw / 32768.0, sr, SAMPLE_RATE)
    y = y * (0.6 / np.abs(y).max())
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def write_wav_s16(path: Path, pcm: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes(pcm.astype("<i2").tobytes())


# --------------------------------------------------------------------------- weights

def round2(x: float) -> float:
    """Two significant digits, so data-derived scales are reproducible."""
    return float(f"{x:.2g}")


class Randomizer:
    """Fills a MimiModel with informative random values, step by step."""

    def __init__(self, model: MimiModel, seed: int, small: dict | None):
        self.model = model
        self.gen = torch.Generator().manual_seed(seed)
        self.small = small
        self.log: list[str] = []

    def randn(self, *shape) -> torch.Tensor:
        return torch.randn(*shape, generator=self.gen)

    def uniform(self, lo: float, hi: float, *shape) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=self.gen)

    # Step 1: every parameter gets a random value of a sensible scale.
    @torch.no_grad()
    def baseline(self) -> None:
        for name, p in self.model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * self.randn(*p.shape))
            elif ".norm1." in name or ".norm2." in name:
                p.copy_(self.uniform(0.6, 1.4, *p.shape))
            elif name.endswith(".scale"):                       # layer scales
                p.copy_(self.uniform(0.1, 0.5, *p.shape))
            elif "in_projs" in name:
                p.copy_(1.2 * self.randn(*p.shape) / math.sqrt(p.shape[1]))
            elif p.dim() == 2:                                  # out_proj, linear1, linear2
                p.copy_(self.randn(*p.shape) / math.sqrt(p.shape[1]))
            elif p.dim() == 3:                                  # convs, convtrs, projections
                fan_in = p.shape[1] * p.shape[2]
                p.copy_(self.randn(*p.shape) / math.sqrt(fan_in))
            else:
                raise AssertionError(f"unhandled parameter {name}")
        for name, b in self.model.named_buffers():
            if name.endswith("_initialized"):
                b.fill_(1.0)

    # Conv weights rescaled layer by layer so activations stay O(1) (LSUV-style).
    @torch.no_grad()
    def calibrate(self, conv, x: torch.Tensor, target: float, label: str) -> torch.Tensor:
        inner = conv.conv.conv if isinstance(conv, StreamingConv1d) else conv.convtr.convtr
        y = conv(x)
        if inner.bias is not None:
            y = y - inner.bias[None, :, None]
        scale = round2(target / max(float(y.std()), 1e-12))
        inner.weight.mul_(scale)
        self.log.append(f"{label}: x{scale}")
        return conv(x)

    @torch.no_grad()
    def calibrate_sequential(self, seq, x: torch.Tensor, prefix: str, last_target: float) -> torch.Tensor:
        layers = list(seq)
        for i, layer in enumerate(layers):
            label = f"{prefix}.{i}"
            if isinstance(layer, (StreamingConv1d, StreamingConvTranspose1d)):
                target = last_target if i == len(layers) - 1 else 1.0
                x = self.calibrate(layer, x, target, label)
            elif isinstance(layer, SEANetResnetBlock):
                h = x
                for j, sub in enumerate(layer.block):
                    if isinstance(sub, StreamingConv1d):
                        h = self.calibrate(sub, h, 1.0 if j < len(layer.block) - 1 else 0.5,
                                           f"{label}.block.{j}")
                    else:
                        h = sub(h)
                x = layer(x)
            else:
                x = layer(x)
        return x

    @torch.no_grad()
    def fit_codebooks(self, latents: torch.Tensor) -> dict:
        """Codebooks spread over the latents the streaming encoder really produces.

        Rows are residual vectors of this clip (every frame at least once, the rest drawn at
        random) plus noise, times a random positive cluster usage; a layer is redrawn while
        any decision's nearest/second-nearest gap is below 1e-3 of the squared norms, so an
        accurate port cannot flip a code on rounding.
        """
        q = self.model.quantizer
        n_frames = latents.shape[-1]
        min_margin = math.inf
        for rvq in (q.rvq_first, q.rvq_rest):
            residual = rvq.input_proj(latents)[0].T.contiguous()     # [F, cd]
            for li, vq in enumerate(rvq.vq.layers):
                cb = vq._codebook
                bins, cd = cb.embedding_sum.shape
                for attempt in range(50):
                    spread = residual.std()
                    if bins <= 4 * n_frames:
                        idx = torch.randperm(n_frames, generator=self.gen)
                        if bins > n_frames:
                            extra = torch.randint(0, n_frames, (bins - n_frames,), generator=self.gen)
                            idx = torch.cat([idx, extra])
                        idx = idx[torch.randperm(bins, generator=self.gen)][:bins]
                        rows = residual[idx] + 0.6 * spread * self.randn(bins, cd)
                    else:
                        # Many more rows than frames (full size): one near row per frame,
                        # the others random vectors of the residuals' scale, shuffled.
                        near = residual[torch.randperm(n_frames, generator=self.gen)]
                        near = near + 0.6 * spread * self.randn(n_frames, cd)
                        far = 1.5 * spread * self.randn(bins - n_frames, cd)
                        rows = torch.cat([near, far])[torch.randperm(bins, generator=self.gen)]
                    usage = torch.exp(0.7 * self.randn(bins))
                    tiny = self.small["tiny_usage_rows"] if self.small else 0
                    if tiny and rvq is q.rvq_rest and li == 0:
                        # usage below epsilon: the reference clamps it to 1e-5.
                        usage[:tiny] = 1e-7
                    embedding_sum = rows * usage[:, None]
                    embedding = embedding_sum / usage.clamp(min=1e-5)[:, None]
                    codes, margin = exact_nearest(residual, embedding)
                    if margin >= 1e-3:
                        break
                else:
                    raise RuntimeError("could not find codebook rows with a safe margin")
                min_margin = min(min_margin, margin)
                cb.embedding_sum.copy_(embedding_sum)
                cb.cluster_usage.copy_(usage)
                cb.register_buffer("_embedding", None, persistent=False)
                residual = residual - vq.decode(codes[None])[0].T   # reference's own decode
        self.log.append(f"codebooks fitted, min fit margin {min_margin:.3g}")
        return {"fit_min_margin": min_margin}


def exact_nearest(x: torch.Tensor, embedding: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Nearest codebook row in float64, and the smallest relative gap to the runner-up."""
    x64, e64 = x.double(), embedding.double()
    d = (x64 * x64).sum(1, keepdim=True) + (e64 * e64).sum(1)[None] - 2 * x64 @ e64.T
    top2 = torch.topk(d, 2, dim=1, largest=False)
    scale = (x64 * x64).sum(1) + (e64[top2.indices[:, 0]] ** 2).sum(1)
    gap = (top2.values[:, 1] - top2.values[:, 0]) / scale
    return top2.indices[:, 0], float(gap.min())


@torch.no_grad()
def rvq_margins(model: MimiModel, latents: torch.Tensor, codes: torch.Tensor) -> float:
    """Re-derive every code in float64 from the saved latents; return the smallest gap."""
    q = model.quantizer
    n_rest = codes.shape[0] - 1
    smallest = math.inf
    row = 0
    for rvq, n in ((q.rvq_first, 1), (q.rvq_rest, n_rest)):
        residual = rvq.input_proj(latents)[0].T.double()
        for vq in list(rvq.vq.layers)[:n]:
            emb = vq._codebook.embedding.double()
            idx, gap = exact_nearest(residual, emb)
            assert torch.equal(idx, codes[row].long()), f"float64 argmin disagrees on codebook {row}"
            smallest = min(smallest, gap)
            residual = residual - emb[idx]
            row += 1
    return smallest


# --------------------------------------------------------------------------- runs

class Taps:
    """Forward hooks that record module outputs during the streaming run."""

    def __init__(self, model: MimiModel):
        self.active = False
        self.values: dict[str, list[torch.Tensor]] = {}
        for key, module in (("seanet_encoder_out", model.encoder),
                            ("encoder_transformer_out", model.encoder_transformer),
                            ("downsample_out", model.downsample),
                            ("upsample_out", model.upsample),
                            ("decoder_transformer_out", model.decoder_transformer)):
            module.register_forward_hook(self._hook(key))

    def _hook(self, key):
        def hook(_module, _inputs, output):
            if self.active:
                out = output[0] if isinstance(output, (list, tuple)) else output
                self.values.setdefault(key, []).append(out[0].detach().clone())
        return hook

    def stacked(self) -> dict[str, torch.Tensor]:
        return {k: torch.cat(v, dim=-1).contiguous() for k, v in self.values.items()}


@torch.no_grad()
def streaming_encode(model: MimiModel, audio: torch.Tensor) -> torch.Tensor:
    frames = []
    with model.streaming(batch_size=1):
        for start in range(0, audio.shape[-1], FRAME_SIZE):
            frames.append(model.encode(audio[None, None, start:start + FRAME_SIZE]))
    return torch.cat(frames, dim=-1)[0]                  # [K, F]


@torch.no_grad()
def streaming_decode(model: MimiModel, codes: torch.Tensor) -> torch.Tensor:
    out = []
    with model.streaming(batch_size=1):
        for f in range(codes.shape[-1]):
            out.append(model.decode(codes[None, :, f:f + 1].long()))
    return torch.cat(out, dim=-1)[0, 0]                   # [F * 1920]


@torch.no_grad()
def streaming_latents(model: MimiModel, audio: torch.Tensor) -> torch.Tensor:
    out = []
    with model.streaming(batch_size=1):
        for start in range(0, audio.shape[-1], FRAME_SIZE):
            out.append(model._encode_to_unquantized_latent(audio[None, None, start:start + FRAME_SIZE]))
    return torch.cat(out, dim=-1)                         # [1, D, F]


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def official_state_dict(model: MimiModel) -> dict[str, torch.Tensor]:
    """model.state_dict() under the names the published checkpoint uses for attention."""
    out = {}
    for k, v in model.state_dict().items():
        k = k.replace("self_attn.in_projs.0.weight", "self_attn.in_proj_weight")
        k = k.replace("self_attn.out_projs.0.weight", "self_attn.out_proj.weight")
        out[k] = v.detach().clone().contiguous()
    return out


def weight_norm_state_dict(state: dict[str, torch.Tensor], gen: torch.Generator) -> dict:
    """Same weights with every SEANet conv stored as a weight-norm pair (g, v).

    torch.nn.utils.weight_norm (dim 0) rebuilds weight = g * v / ||v||, the norm taken over
    every axis but axis 0 (output channels of a Conv1d, input channels of a ConvTranspose1d).
    v is the weight times a random positive factor per axis-0 slice, g the weight's norm.
    """
    out = {}
    for k, v in state.items():
        seanet = k.startswith(("encoder.model.", "decoder.model."))
        if seanet and (k.endswith(".conv.conv.weight") or k.endswith(".convtr.convtr.weight")):
            base = k[: -len("weight")]
            factor = torch.exp(torch.randn(v.shape[0], 1, 1, generator=gen))
            out[base + "weight_g"] = v.norm(dim=(1, 2), keepdim=True).contiguous()
            out[base + "weight_v"] = (v * factor).contiguous()
        else:
            out[k] = v
    return out


def code_variety(codes: np.ndarray) -> dict:
    k, f = codes.shape
    distinct = [len(set(codes[i].tolist())) / f for i in range(k)]
    changes = [(codes[i, 1:] != codes[i, :-1]).mean() for i in range(k)]
    return {"distinct_fraction_per_codebook": [round(x, 3) for x in distinct],
            "frame_change_fraction_per_codebook": [round(float(x), 3) for x in changes],
            "all_codebooks_distinct_rows": len({tuple(r) for r in codes.tolist()}) == k}


# --------------------------------------------------------------------------- self-check

class Rederivation:
    """An independent float64 NumPy restatement of the streaming semantics in README.md.

    It reads only the written files (weights by their official names, config JSON, io
    tensors) and recomputes every stage from the stage before it, so the README's
    description of the reference is checked each time the fixtures are regenerated.
    """

    def __init__(self, folder: Path, name: str):
        from safetensors.numpy import load_file
        self.cfg = json.loads((folder / f"{name}_config.json").read_text())
        self.w = {k: v.astype(np.float64) for k, v in load_file(str(folder / f"{name}.safetensors")).items()}
        self.io = load_file(str(folder / f"{name}_io.safetensors"))

    # Causal conv: history of (k_eff - stride) zeros (or copies of the first sample).
    @staticmethod
    def conv(x, w, b, stride=1, dilation=1, replicate=False):
        k_eff = (w.shape[2] - 1) * dilation + 1
        pad = k_eff - stride
        head = np.repeat(x[:, :1], pad, 1) if replicate else np.zeros((x.shape[0], pad))
        xp = np.concatenate([head, x], 1)
        n = x.shape[1] // stride
        out = np.zeros((w.shape[0], n))
        for j in range(w.shape[2]):
            cols = xp[:, j * dilation: j * dilation + stride * (n - 1) + 1: stride]
            out += w[:, :, j] @ cols
        return out if b is None else out + b[:, None]

    # Transposed conv: overlap-add of K taps at stride S, keep the first T*S outputs.
    @staticmethod
    def convtr(x, w, b, stride, depthwise=False):
        k = w.shape[2]
        t = x.shape[1]
        out = np.zeros((w.shape[0] if depthwise else w.shape[1], (t - 1) * stride + k))
        for j in range(k):
            contrib = w[:, 0, j][:, None] * x if depthwise else w[:, :, j].T @ x
            out[:, j: j + stride * (t - 1) + 1: stride] += contrib
        out = out[:, : t * stride]
        return out if b is None else out + b[:, None]

    @staticmethod
    def elu(x):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))

    def seanet(self, prefix, x, encoder):
        s = self.cfg["seanet"]
        w = self.w
        ratios = s["encoder_ratios"] if encoder else s["decoder_ratios"]

        def c(i, h, stride=1):
            p = f"{prefix}.model.{i}.conv.conv."
            return self.conv(h, w[p + "weight"], w[p + "bias"], stride)

        def res(i, h):
            p = f"{prefix}.model.{i}.block."
            y = self.conv(self.elu(h), w[p + "1.conv.conv.weight"], w[p + "1.conv.conv.bias"])
            y = self.conv(self.elu(y), w[p + "3.conv.conv.weight"], w[p + "3.conv.conv.bias"])
            return h + y

        h = c(0, x)
        i = 1
        for r in ratios:
            if encoder:
                h = res(i, h)
                h = c(i + 2, self.elu(h), stride=r)
            else:
                p = f"{prefix}.model.{i + 1}.convtr.convtr."
                h = self.convtr(self.elu(h), w[p + "weight"], w[p + "bias"], r)
                h = res(i + 2, h)
            i += 3
        return c(i + 1, self.elu(h))

    def transformer(self, prefix, xs):
        t = self.cfg["transformer"]
        w = self.w
        d, heads, ctx = t["d_model"], t["num_heads"], t["context"]
        hd = d // heads
        freqs = np.exp(np.arange(hd // 2) * (-math.log(t["max_period"]) * 2 / hd))

        def rope(v, pos):                               # v [H, hd], pairs (2i, 2i+1)
            c, s = np.cos(pos * freqs), np.sin(pos * freqs)
            out = np.empty_like(v)
            out[:, 0::2] = v[:, 0::2] * c - v[:, 1::2] * s
            out[:, 1::2] = v[:, 0::2] * s + v[:, 1::2] * c
            return out

        def norm(x, p):
            m = x.mean(-1, keepdims=True)
            var = ((x - m) ** 2).mean(-1, keepdims=True)
            return (x - m) / np.sqrt(var + 1e-5) * w[p + "weight"] + w[p + "bias"]

        x = xs.T.astype(np.float64)
        steps = x.shape[0]
        for layer in range(t["num_layers"]):
            p = f"{prefix}.transformer.layers.{layer}."
            ring: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}   # slot -> (pos, k, v)
            out = np.zeros_like(x)
            for start in range(0, steps, 2):                             # one call = 2 steps
                chunk = x[start:start + 2]
                qkv = norm(chunk, p + "norm1.") @ w[p + "self_attn.in_proj_weight"].T
                for j in range(2):                                       # write both keys first
                    pos = start + j
                    ring[pos % ctx] = (pos, rope(qkv[j, d:2 * d].reshape(heads, hd), pos),
                                       qkv[j, 2 * d:].reshape(heads, hd))
                att = np.zeros((2, d))
                for j in range(2):
                    pos = start + j
                    q = rope(qkv[j, :d].reshape(heads, hd), pos)
                    keys = [v for v in ring.values() if 0 <= pos - v[0] < ctx]
                    kk = np.stack([k for _, k, _ in keys], 1)
                    vv = np.stack([v for _, _, v in keys], 1)
                    logits = np.einsum("hd,hnd->hn", q, kk) / math.sqrt(hd)
                    a = np.exp(logits - logits.max(1, keepdims=True))
                    a /= a.sum(1, keepdims=True)
                    att[j] = np.einsum("hn,hnd->hd", a, vv).reshape(d)
                y = chunk + w[p + "layer_scale_1.scale"] * (att @ w[p + "self_attn.out_proj.weight"].T)
                f = norm(y, p + "norm2.") @ w[p + "linear1.weight"].T
                f = 0.5 * f * (1 + np.vectorize(math.erf)(f / math.sqrt(2)))
                out[start:start + 2] = y + w[p + "layer_scale_2.scale"] * (f @ w[p + "linear2.weight"].T)
            x = out
        return x.T

    def codebook(self, part, i):
        p = f"quantizer.{part}.vq.layers.{i}._codebook."
        return self.w[p + "embedding_sum"] / np.maximum(self.w[p + "cluster_usage"], 1e-5)[:, None]

    def check(self) -> dict[str, float]:
        io, w = self.io, self.w
        n = self.cfg["num_codebooks"]
        frames = io["codes"].shape[1]
        audio = np.zeros(frames * FRAME_SIZE)
        audio[: len(io["input"])] = io["input"]
        errs = {}
        errs["seanet_encoder_out"] = self.seanet("encoder", audio[None], True)
        errs["encoder_transformer_out"] = self.transformer("encoder_transformer", io["seanet_encoder_out"])
        errs["downsample_out"] = self.conv(io["encoder_transformer_out"].astype(np.float64),
                                           w["downsample.conv.conv.conv.weight"], None, 2, replicate=True)
        codes, quantized = [], 0.0
        for part, count in (("rvq_first", 1), ("rvq_rest", n - 1)):
            r = w[f"quantizer.{part}.input_proj.weight"][:, :, 0] @ io["downsample_out"]
            total = 0.0
            for i in range(count):
                e = self.codebook(part, i)
                dist = ((r[None] - e[:, :, None]) ** 2).sum(1)        # [bins, frames]
                c = dist.argmin(0)
                codes.append(c)
                r = r - e[c].T
                total = total + self.codebook(part, i)[io["codes"][len(codes) - 1]].T
            quantized = quantized + w[f"quantizer.{part}.output_proj.weight"][:, :, 0] @ total
        assert np.array_equal(np.stack(codes), io["codes"]), "re-derived codes differ"
        errs["quantized_latent"] = quantized
        errs["upsample_out"] = self.convtr(io["quantized_latent"].astype(np.float64),
                                           w["upsample.convtr.convtr.convtr.weight"], None, 2, depthwise=True)
        errs["decoder_transformer_out"] = self.transformer("decoder_transformer", io["upsample_out"])
        errs["decoded"] = self.seanet("decoder", io["decoder_transformer_out"].astype(np.float64), False)[0]
        return {k: float(np.linalg.norm(v - io[k]) / np.linalg.norm(io[k])) for k, v in errs.items()}


# --------------------------------------------------------------------------- driver

def build(small: dict | None, seed: int, audio: torch.Tensor):
    cfg = mimi_config(small)
    num_codebooks = small["num_codebooks"] if small else 8
    model = loaders.get_mimi(None, cfg, num_codebooks=num_codebooks)
    model.eval()
    r = Randomizer(model, seed, small)
    r.baseline()
    padded = audio[None, None]
    with torch.no_grad():
        # Encoder side, non-streaming over the padded clip.
        x = r.calibrate_sequential(model.encoder.model, padded, "encoder.model", 1.0)
        (x,) = model.encoder_transformer(x)
        r.calibrate(model.downsample.conv, x, 1.0, "downsample")
        # Quantizer, fitted on the latents the streaming encoder produces.
        latents = streaming_latents(model, audio)
        model.set_num_codebooks(model.total_codebooks)
        fit = r.fit_codebooks(latents)
        model.set_num_codebooks(num_codebooks)
        codes = model.quantizer.encode(latents)
        first = model.quantizer.rvq_first.decode(codes[:, :1])
        rest = model.quantizer.rvq_rest.decode(codes[:, 1:])
        for rvq, part in ((model.quantizer.rvq_first, first), (model.quantizer.rvq_rest, rest)):
            s = round2(0.7 / float(part.std()))
            rvq.output_proj.weight.mul_(s)
            r.log.append(f"quantizer output_proj x{s}")
        # Decoder side, non-streaming.
        emb = model.quantizer.decode(codes)
        emb = r.calibrate(model.upsample.convtr, emb, 1.0, "upsample")
        (emb,) = model.decoder_transformer(emb)
        r.calibrate_sequential(model.decoder.model, emb, "decoder.model", 0.15)
    return model, cfg, num_codebooks, fit, r.log


def run_fixture(small: dict | None, seed: int, pcm: np.ndarray, out_dir: Path, name: str,
                write_weight_norm: bool) -> dict:
    t0 = time.time()
    audio_unpadded = torch.from_numpy(pcm.astype(np.float32) / 32768.0)
    n_frames = math.ceil(len(pcm) / FRAME_SIZE)
    audio = torch.zeros(n_frames * FRAME_SIZE)
    audio[: len(pcm)] = audio_unpadded

    model, cfg, num_codebooks, fit, log = build(small, seed, audio)
    taps = Taps(model)

    with torch.no_grad():
        taps.active = True
        codes = streaming_encode(model, audio)
        decoded = streaming_decode(model, codes)
        taps.active = False
        inter = taps.stacked()
        latents = inter["downsample_out"][None]
        inter["quantized_latent"] = model.quantizer.decode(codes[None].long())[0].contiguous()

        # Non-streaming paths, for comparison.
        codes_ns = model.encode(audio_unpadded[None, None])[0]
        decoded_ns = model.decode(codes[None].long())[0, 0]
        # All codebooks of the checkpoint, streaming.
        model.set_num_codebooks(model.total_codebooks)
        codes_all = streaming_encode(model, audio)
        model.set_num_codebooks(num_codebooks)
        # reset_streaming() in the middle of a stream gives a fresh state.
        with model.streaming(batch_size=1):
            for start in range(0, 5 * FRAME_SIZE, FRAME_SIZE):
                model.encode(audio[None, None, start:start + FRAME_SIZE])
            model.reset_streaming()
            again = torch.cat([model.encode(audio[None, None, s:s + FRAME_SIZE])
                               for s in range(0, 4 * FRAME_SIZE, FRAME_SIZE)], dim=-1)[0]

    codes_np = codes.numpy().astype(np.int32)
    variety = code_variety(codes_np)
    margin = rvq_margins(model, latents, codes)

    # Checks: the outputs must prove something.
    assert torch.equal(again, codes[:, :4]), "reset_streaming did not restore a fresh state"
    assert torch.equal(codes_all[:num_codebooks], codes), "first codebooks depend on the count"
    assert all(x > 0.5 for x in variety["distinct_fraction_per_codebook"]), variety
    assert all(x > 0.5 for x in variety["frame_change_fraction_per_codebook"]), variety
    assert variety["all_codebooks_distinct_rows"], "two codebooks carry the same sequence"
    assert margin >= 1e-4, f"a code is decided by a gap of {margin}"
    dstd = float(decoded.std())
    frame_stds = decoded.view(n_frames, FRAME_SIZE).std(dim=1)
    assert 1e-2 < dstd < 10, f"decoded audio std {dstd}"
    assert bool((frame_stds > 1e-3).all()), "some decoded frame is silent"
    assert not torch.isnan(decoded).any()

    ns_equal = bool(torch.equal(codes_ns, codes))
    ns_mismatch = (codes_ns != codes).nonzero().tolist()
    first_ns_diff_frame = min((f for _, f in ns_mismatch), default=None)

    out_dir.mkdir(parents=True, exist_ok=True)
    state = official_state_dict(model)
    weights_path = out_dir / f"{name}.safetensors"
    save_file(state, str(weights_path))

    # The saved file, loaded back by the reference loader (strict), gives the same outputs.
    reloaded = loaders.get_mimi(str(weights_path), cfg, num_codebooks=num_codebooks)
    codes_re = streaming_encode(reloaded, audio)
    decoded_re = streaming_decode(reloaded, codes_re)
    assert torch.equal(codes_re, codes), "reloaded weights give other codes"
    assert torch.equal(decoded_re, decoded), "reloaded weights give other audio"

    wn_info = None
    if write_weight_norm:
        wn_state = weight_norm_state_dict(state, torch.Generator().manual_seed(1000 + seed))
        wn_path = out_dir / f"{name}_weightnorm.safetensors"
        save_file(wn_state, str(wn_path))
        wn_cfg = copy.deepcopy(cfg)
        wn_cfg["seanet"]["norm"] = "weight_norm"
        wn_model = loaders.get_mimi(str(wn_path), wn_cfg, num_codebooks=num_codebooks)
        codes_wn = streaming_encode(wn_model, audio)
        decoded_wn = streaming_decode(wn_model, codes_wn)
        assert torch.equal(codes_wn, codes), "weight-norm weights give other codes"
        wn_info = {"file": wn_path.name,
                   "pairs": sum(1 for k in wn_state if k.endswith("weight_g")),
                   "decoded_rel_l2_vs_plain": rel_l2(decoded_wn, decoded),
                   "codes_equal_plain": True}

    io = {"input": audio_unpadded.contiguous(),
          "codes": torch.from_numpy(codes_np).contiguous(),
          "decoded": decoded.contiguous(),
          "codes_nonstreaming": codes_ns.to(torch.int32).contiguous(),
          "codes_all_codebooks": codes_all.to(torch.int32).contiguous()}
    io.update({k: v.contiguous() for k, v in inter.items()})
    save_file(io, str(out_dir / f"{name}_io.safetensors"))

    context = cfg["transformer"]["context"]
    info = config_json(cfg, num_codebooks, seed)
    info["fixture"] = {
        "weights": weights_path.name,
        "io": f"{name}_io.safetensors",
        "weight_norm": wn_info,
        "input_samples": len(pcm),
        "frames": n_frames,
        "padded_samples": n_frames * FRAME_SIZE,
        "parameters": int(sum(v.numel() for v in state.values())),
        "ring_cache_wraps_at_latent_step": context,
        "nonstreaming_codes_equal_streaming": ns_equal,
        "nonstreaming_first_differing_frame": first_ns_diff_frame,
        "nonstreaming_differing_codes": len(ns_mismatch),
        "nonstreaming_decode_rel_l2_vs_streaming": rel_l2(decoded_ns, decoded),
        "nonstreaming_decode_rel_l2_first_frames": rel_l2(
            decoded_ns[: FRAME_SIZE * (context // 2 - 1)], decoded[: FRAME_SIZE * (context // 2 - 1)]),
        "min_code_margin": margin,
        "decoded_std": dstd,
        "input_std": float(audio_unpadded.std()),
        "variety": variety,
        "calibration": log,
    }
    config_path = out_dir / f"{name}_config.json"
    config_path.write_text(json.dumps(info, indent=2) + "\n")

    # The README's description, restated in NumPy, reproduces every saved stage.
    rederived = Rederivation(out_dir, name).check()
    assert all(v < 1e-5 for v in rederived.values()), rederived
    info["fixture"]["numpy_rederivation_rel_l2"] = rederived
    config_path.write_text(json.dumps(info, indent=2) + "\n")
    info["seconds"] = round(time.time() - t0, 1)
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=FIXTURES, help="small fixtures folder")
    ap.add_argument("--full", type=Path, metavar="DIR",
                    help="instead, write the full-size official configuration (random weights) to DIR")
    args = ap.parse_args()

    version = importlib.metadata.version("moshi")
    if version != REFERENCE_VERSION:
        sys.exit(f"needs moshi=={REFERENCE_VERSION}, found {version}")
    torch.set_num_threads(1 if args.full is None else max(1, os.cpu_count() or 1))
    torch.use_deterministic_algorithms(True)

    pcm = make_speech()
    if args.full is not None:
        info = run_fixture(None, 0, pcm, args.full, "mimi_full_seed0", write_weight_norm=False)
        write_wav_s16(args.full / "speech_24k.wav", pcm)
        print(json.dumps(info["fixture"], indent=2))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    write_wav_s16(args.out / "speech_24k.wav", pcm)
    for seed, small in SMALL_CONFIGS.items():
        info = run_fixture(small, seed, pcm, args.out, f"mimi_seed{seed}", write_weight_norm=(seed == 0))
        f = info["fixture"]
        print(f"seed {seed}: {f['frames']} frames, {f['parameters']} params, "
              f"non-streaming codes equal: {f['nonstreaming_codes_equal_streaming']} "
              f"(first differing frame {f['nonstreaming_first_differing_frame']}), "
              f"min margin {f['min_code_margin']:.3g}, "
              f"distinct {f['variety']['distinct_fraction_per_codebook']}, {info['seconds']} s")


if __name__ == "__main__":
    main()

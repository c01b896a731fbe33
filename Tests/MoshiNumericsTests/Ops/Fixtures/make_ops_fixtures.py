"""Makes ops_fixtures.json: small inputs and the outputs PyTorch and the reference package
(moshi==0.2.13) compute for them, for the Swift `Ops` parity tests (OpsParityTests.swift).

Run from this folder with a Python that has torch and moshi==0.2.13 installed:

    NO_TORCH_COMPILE=1 python make_ops_fixtures.py

NO_TORCH_COMPILE=1 runs the reference's `apply_rope` / `_rms_norm` eagerly (they are otherwise
wrapped in torch.compile; eager is the plain float32 semantics). Every float is stored as the
decimal repr of a float32 value, so it round-trips exactly. Inputs come from a seeded NumPy RNG.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

os.environ.setdefault("NO_TORCH_COMPILE", "1")
from moshi.modules.gating import gating_forward_kernel  # noqa: E402
from moshi.modules.rope import apply_rope  # noqa: E402
from moshi.modules.transformer import _rms_norm  # noqa: E402

torch.set_num_threads(1)
rng = np.random.default_rng(1234)


def randn(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


class F32(float):
    """A float32 value that JSON-encodes as its shortest round-trip decimal (about 10 characters)."""

    def __repr__(self):
        return str(np.float32(self))


def flat(t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else t
    return [F32(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


cases = {}

# RMSNorm (rms_norm_f32: eps 1e-8, alpha [1, 1, C]).
x = randn(4, 64, scale=2.0)
x[3] *= 1e-3
alpha = (1 + 0.3 * randn(64)).astype(np.float32)
y = _rms_norm(torch.from_numpy(x)[None], torch.from_numpy(alpha).view(1, 1, -1), torch.float32, 1e-8)[0]
cases["rms_norm"] = dict(rows=4, channels=64, eps=1e-8, x=flat(x), alpha=flat(alpha), y=flat(y))

# LayerNorm (nn.LayerNorm, eps 1e-5).
x = randn(3, 48, scale=1.5) + 0.25
w = (1 + 0.2 * randn(48)).astype(np.float32)
b = (0.1 * randn(48)).astype(np.float32)
y = F.layer_norm(torch.from_numpy(x), (48,), torch.from_numpy(w), torch.from_numpy(b), 1e-5)
cases["layer_norm"] = dict(rows=3, channels=48, eps=1e-5, x=flat(x), weight=flat(w), bias=flat(b), y=flat(y))

# Element-wise activations and softmax.
x = np.concatenate([rng.uniform(-8, 8, 197).astype(np.float32), np.float32([0, 1, -1])])
t = torch.from_numpy(x)
cases["activations"] = dict(x=flat(x), gelu=flat(F.gelu(t)), silu=flat(F.silu(t)), elu=flat(F.elu(t, alpha=1.0)))
x = randn(2, 100, scale=4.0)
cases["softmax"] = dict(rows=2, columns=100, x=flat(x), y=flat(torch.softmax(torch.from_numpy(x), dim=-1)))

# Gating: identity linear_in / linear_out leave exactly the reference's split-and-gate.
hidden = 24
h = randn(1, 2, 2 * hidden, scale=3.0)
y = gating_forward_kernel(torch.eye(2 * hidden), torch.eye(hidden), F.silu, torch.from_numpy(h))
cases["silu_gating"] = dict(rows=2, hidden=hidden, h=flat(h), y=flat(y))

# RoPE, interleaved, [B, T, H, D] with time before heads, at several stream offsets.
rope = []
for offset in [0, 7, 2990, 4321]:
    q = randn(1, 3, 2, 16)
    k = randn(1, 3, 2, 16)
    qo, ko = apply_rope(torch.from_numpy(q), torch.from_numpy(k), torch.tensor([offset]), 10000, True, True)
    rope.append(dict(offset=offset, steps=3, heads=2, head_dim=16, q=flat(q), k=flat(k), q_out=flat(qo), k_out=flat(ko)))
cases["rope"] = rope

# The Conv1d / ConvTranspose1d cases went with the code they tested (Mimi's streaming convs have
# their own parity tests); their random draws stay, so the later cases keep their inputs.
for cin, cout, kernel, groups, length, bias in [
    (4, 6, 5, 1, 23, True), (6, 4, 3, 2, 19, False), (8, 8, 4, 8, 11, True), (16, 12, 7, 1, 30, True), (3, 5, 1, 1, 9, True),
]:
    randn(cin, length), randn(cout, cin // groups, kernel, scale=0.3), randn(cout) if bias else None
for cin, cout, kernel, groups, length, bias in [
    (6, 4, 8, 1, 5, True), (8, 8, 4, 8, 3, False), (4, 6, 5, 2, 7, True), (12, 8, 16, 1, 2, True),
]:
    randn(cin, length), randn(cin, cout // groups, kernel, scale=0.3), randn(cout) if bias else None

# Codebook search as EuclideanCodebook._quantize: cdist (matmul path, > 25 rows) then argmin.
entries, dim = 64, 16
codebook = randn(entries, dim)
codebook[53] = codebook[45]  # a duplicate: the lower index must win
x = randn(24, dim)
x[0] = codebook[45]  # exact hit on a duplicated entry
x[1:6] = codebook[10:15] + randn(5, dim, scale=1e-3)  # near hits
x[6] = (codebook[7] + codebook[8]) / 2  # near-equidistant
codes = torch.cdist(torch.from_numpy(x)[None], torch.from_numpy(codebook)[None], p=2)[0].argmin(dim=-1)
cases["codebook"] = dict(entries=entries, dimension=dim, count=24, codebook=flat(codebook), x=flat(x),
                         codes=[int(c) for c in codes])

cases["versions"] = dict(torch=torch.__version__, numpy=np.__version__)


def encode(value):
    # json.dump would print float32 values with float64 digits; write them short instead.
    if isinstance(value, F32):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + encode(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_fixtures.json"), "w") as f:
    f.write(encode(cases) + "\n")

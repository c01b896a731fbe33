#!/usr/bin/env python3
"""Writes the small reference weight files under Tests/WeightsTests/Fixtures/ with the
reference Python libraries, so the Swift readers are tested against files they did not write.

    python3 -m venv /tmp/fixture-venv && /tmp/fixture-venv/bin/pip install safetensors gguf numpy "mlx[cpu]"
    /tmp/fixture-venv/bin/python scripts/make_weight_fixtures.py

The outputs are committed (a few KB); CI never runs this script. Every value is a simple
formula the tests recompute; the expected dequantized values of the quantized tensors come
from the libraries' own dequantizers and are stored next to them as F32 tensors.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "WeightsTests", "Fixtures")


def ramp(n, scale=1.0):
    """sin(0.37 * i) * scale, i = 0..n-1, in float32: the values every quantized fixture uses."""
    return (np.sin(np.arange(n, dtype=np.float32) * np.float32(0.37)) * np.float32(scale)).astype(np.float32)


def write_safetensors():
    from safetensors.numpy import save_file

    tensors = {
        "f32": np.array([[0.5, -1.25, 3.0e-3], [65504.0, -0.0, 1.0e-30]], dtype=np.float32),
        "f16": np.array([1.5, -2.0, 0.0999755859375, 65504.0], dtype=np.float16),
        "i8": np.array([-128, -1, 0, 127], dtype=np.int8),
        "u8": np.array([0, 1, 254, 255], dtype=np.uint8),
        "i32": np.array([[-2147483648, 2147483647], [7, -7]], dtype=np.int32),
        "i64": np.array([-(2**63), 2**63 - 1, 42], dtype=np.int64),
        "scalar": np.array(3.25, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    save_file(tensors, os.path.join(OUT, "numpy_dtypes.safetensors"), metadata={"format": "np", "note": "fixture"})


def write_mlx():
    import mlx.core as mx

    for bits, group, dtype, name in [(4, 32, mx.bfloat16, "mlx_q4_g32.safetensors"), (8, 64, mx.float16, "mlx_q8_g64.safetensors")]:
        weight = mx.array(ramp(3 * 128, 2.0).reshape(3, 128)).astype(dtype)
        packed, scales, biases = mx.quantize(weight, group_size=group, bits=bits)
        expected = mx.dequantize(packed, scales, biases, group_size=group, bits=bits).astype(mx.float32)
        norm = mx.array(np.array([1.0, -0.5, 0.25], dtype=np.float32)).astype(mx.bfloat16)
        mx.save_safetensors(os.path.join(OUT, name), {
            "proj.weight": packed, "proj.scales": scales, "proj.biases": biases,
            "expected": expected, "norm.weight": norm,
        }, metadata={"format": "mlx"})


def write_gguf():
    import gguf
    from gguf import quants

    writer = gguf.GGUFWriter(os.path.join(OUT, "small.gguf"), arch="fixture")
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4000000000)
    writer.add_int32("test.i32", -2000000000)
    writer.add_float32("test.f32", 0.5)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo")
    writer.add_uint64("test.u64", 2**63 + 5)
    writer.add_int64("test.i64", -(2**62))
    writer.add_float64("test.f64", 0.125)
    writer.add_array("test.array_i32", [1, -2, 3])
    writer.add_array("test.array_str", ["a", "bc", ""])

    source = ramp(4 * 64, 3.0).reshape(4, 64)
    writer.add_tensor("f32", np.arange(6, dtype=np.float32).reshape(2, 3))
    writer.add_tensor("f16", np.array([[0.5, -1.5], [2.0, 1024.0]], dtype=np.float16))
    bf16 = quants.quantize(source[:1, :8], gguf.GGMLQuantizationType.BF16)
    writer.add_tensor("bf16", bf16, raw_dtype=gguf.GGMLQuantizationType.BF16)
    writer.add_tensor("source", source)
    for kind in (gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0):
        packed = quants.quantize(source, kind)
        writer.add_tensor(kind.name.lower(), packed, raw_dtype=kind)
        writer.add_tensor(kind.name.lower() + ".expected", quants.dequantize(packed, kind).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_safetensors()
    write_mlx()
    write_gguf()
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")

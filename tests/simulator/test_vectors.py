from __future__ import annotations

import base64
import math
import struct

from llmrelay.simulator.vectors import embedding_vector, encode_base64


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def test_vectors_are_unit_length_and_deterministic() -> None:
    v = embedding_vector("hello", model="m", dimensions=1536, seed=0)
    assert len(v) == 1536
    assert abs(norm(v) - 1.0) < 1e-6
    assert v == embedding_vector("hello", model="m", dimensions=1536, seed=0)


def test_vectors_depend_on_text_model_and_seed() -> None:
    base = embedding_vector("hello", model="m", dimensions=8, seed=0)
    assert base != embedding_vector("hello!", model="m", dimensions=8, seed=0)
    assert base != embedding_vector("hello", model="n", dimensions=8, seed=0)
    assert base != embedding_vector("hello", model="m", dimensions=8, seed=1)


def test_fewer_dimensions_are_the_renormalised_prefix() -> None:
    full = embedding_vector("x", model="m", dimensions=64, seed=0)
    short = embedding_vector("x", model="m", dimensions=8, seed=0)
    scale = norm(full[:8])
    assert all(abs(a - b / scale) < 1e-6 for a, b in zip(short, full[:8], strict=True))


def test_base64_is_little_endian_float32() -> None:
    v = [0.5, -0.25, 1.0]
    raw = base64.b64decode(encode_base64(v))
    assert list(struct.unpack("<3f", raw)) == v

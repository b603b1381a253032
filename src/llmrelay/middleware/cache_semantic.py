"""Building the cache layer's semantic index from the settings and the stack's context.

Apart from ``middleware/cache.py`` because it chooses the embedder: the local encoder, or
an embeddings model reached through the client's own pipeline (``StackContext.send``), so
that those calls are retried, routed, limited, budgeted and recorded like any other, and
charged to the subject whose question they embed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from llmrelay.cache.embedder import Embedder, FunctionEmbedder, LocalEmbedder
from llmrelay.cache.semantic import SemanticIndex
from llmrelay.cache.vectorlog import RedisVectorLog, SQLiteVectorLog, VectorLog
from llmrelay.errors import ConfigError
from llmrelay.pipeline import Call
from llmrelay.pipeline.context import StackContext
from llmrelay.types import EmbeddingRequest, EmbeddingResponse, Subject


def semantic_wanted(ctx: StackContext) -> bool:
    """Whether any alias (or the whole section) turns the semantic cache on."""
    s = ctx.settings.cache
    return s.semantic.enabled or any(a.semantic for a in s.models.values())


def open_semantic(ctx: StackContext) -> SemanticIndex | None:
    """The semantic index the settings ask for (None when no alias uses it). Raises
    ``ConfigError`` naming what is missing before any call is made."""
    if not semantic_wanted(ctx):
        return None
    s = ctx.settings.cache
    sem = s.semantic
    embedder: Embedder
    if sem.embedder == "local":
        embedder = LocalEmbedder(sem.model_path)
    else:
        if sem.model is None:
            raise ConfigError(
                "cache.semantic.embedder is provider but no model is named: set cache.semantic.model "
                + "to an embeddings alias or provider/model (e.g. openai/text-embedding-3-small)"
            )
        if ctx.send is None:
            raise ConfigError("cache.semantic.embedder: provider needs the cache layer to run in a Client")
        embedder = FunctionEmbedder(f"provider:{sem.model}", _provider_embed(ctx, sem.model))
    vlog: VectorLog | None = None
    if s.backend == "redis":
        url = s.redis_url or ctx.settings.state.redis_url
        if url is not None:
            vlog = RedisVectorLog(url, s.prefix, max_entries=sem.max_entries)
    elif s.backend == "sqlite":
        from llmrelay.cache.sqlite import default_path

        vlog = SQLiteVectorLog(s.path.expanduser() if s.path is not None else default_path())
    return SemanticIndex(sem, embedder, vlog)


def _provider_embed(ctx: StackContext, model: str) -> Callable[[str, Subject], Awaitable[Sequence[float]]]:
    send = ctx.send
    assert send is not None

    async def embed(text: str, subject: Subject) -> Sequence[float]:
        call = Call(EmbeddingRequest(model=model, inputs=[text]), False, subject)
        resp: EmbeddingResponse = await send(call)
        return resp.vectors[0]

    return embed

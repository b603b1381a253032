"""What the cache does for one call: read, write, for how long, in which namespace.

The section's defaults, then the alias's overrides (``cache.models``), then the call's
own ``cache=`` option. Modes:

* ``off``: the cache is not consulted and nothing is stored;
* ``read``: a stored answer is served; the call's own answer is not stored;
* ``write``: the call opts in: a stored answer is served and its own answer is stored,
  even when the request is not deterministic;
* ``refresh``: no stored answer is served; the fresh answer replaces it.

Without a mode, only deterministic requests (temperature 0 or a fixed seed) are cached,
unless ``deterministic_only`` is off for the section or the alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

from llmrelay.errors import InvalidRequestError
from llmrelay.settings.cache import CacheSettings
from llmrelay.types import ChatRequest

CacheMode: TypeAlias = Literal["off", "read", "write", "refresh"]
CACHE_MODES: tuple[str, ...] = get_args(CacheMode)


@dataclass(frozen=True, slots=True)
class CacheOptions:
    """A call's cache options (``client.chat(..., cache=CacheOptions(...))``, or just the
    mode: ``cache="refresh"``). None keeps what the settings say."""

    mode: CacheMode | None = None
    #: seconds the answer stays fresh
    ttl: float | None = None
    #: seconds past its TTL an answer may be served when every deployment has failed
    stale_if_error: float | None = None

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in CACHE_MODES:
            raise InvalidRequestError(
                f"cache={self.mode!r} is not a cache mode; use one of {', '.join(CACHE_MODES)}"
            )
        if self.ttl is not None and not self.ttl > 0:
            raise InvalidRequestError(f"cache ttl must be a positive number of seconds, got {self.ttl!r}")
        if self.stale_if_error is not None and not self.stale_if_error >= 0:
            raise InvalidRequestError(
                f"cache stale_if_error must be >= 0 seconds, got {self.stale_if_error!r}"
            )

    @classmethod
    def of(cls, value: str | CacheOptions) -> CacheOptions:
        """Options from a mode name or options (anything else is an ``InvalidRequestError``)."""
        if isinstance(value, CacheOptions):
            return value
        if isinstance(value, str):
            return cls(value)  # type: ignore[arg-type]  # checked in __post_init__
        raise InvalidRequestError(
            f"cache= takes a mode ({', '.join(CACHE_MODES)}) or llmrelay.cache.CacheOptions, "
            + f"got {type(value).__name__}"
        )


@dataclass(frozen=True, slots=True)
class Plan:
    read: bool
    write: bool
    ttl: float
    #: seconds past the TTL an entry may serve when upstream fails (0: never)
    stale: float
    shared: bool
    #: the cosine similarity a paraphrase must reach (None: no semantic matching)
    semantic: float | None = None

    @property
    def keep(self) -> float:
        """How long a backend keeps an entry: fresh, then stale-if-error."""
        return self.ttl + self.stale


def deterministic(req: ChatRequest) -> bool:
    """Temperature 0 or a fixed seed: the same request should give the same answer."""
    return req.seed is not None or (req.temperature is not None and req.temperature == 0)


def plan(settings: CacheSettings, alias: str, req: ChatRequest, options: CacheOptions | None) -> Plan | None:
    """What the cache does for this call; None when it stays out of it."""
    if options is None:
        only, p = alias_plan(settings, alias)
        return None if p is None or (only and not deterministic(req)) else p
    return _plan(settings, alias, req, options)


def alias_plan(settings: CacheSettings, alias: str) -> tuple[bool, Plan | None]:
    """What the cache does for the alias's calls that bring no ``CacheOptions``, and
    whether only deterministic ones (``deterministic``) are cached: a pure function of
    the (frozen) settings and the alias, so a caller may keep it per alias."""
    a = settings.models.get(alias)
    only = a.deterministic_only if a is not None and a.deterministic_only is not None else None
    return settings.deterministic_only if only is None else only, _plan(settings, alias, None, None)


def _plan(
    settings: CacheSettings, alias: str, req: ChatRequest | None, options: CacheOptions | None
) -> Plan | None:
    """``plan``; with ``req`` None the deterministic-only rule is left to the caller."""
    a = settings.models.get(alias)
    mode = options.mode if options is not None else None
    if mode == "off":
        return None
    if mode is None:
        if a is not None and a.enabled is False:
            return None
        only = (
            a.deterministic_only
            if a is not None and a.deterministic_only is not None
            else settings.deterministic_only
        )
        if only and req is not None and not deterministic(req):
            return None
    ttl = options.ttl if options is not None and options.ttl is not None else None
    if ttl is None:
        ttl = a.ttl if a is not None and a.ttl is not None else settings.ttl
    stale = options.stale_if_error if options is not None and options.stale_if_error is not None else None
    if stale is None:
        stale = (
            a.stale_if_error if a is not None and a.stale_if_error is not None else settings.stale_if_error
        )
    shared = a.shared if a is not None and a.shared is not None else settings.shared
    sem = settings.semantic
    on = a.semantic if a is not None and a.semantic is not None else sem.enabled
    threshold = a.semantic_threshold if a is not None and a.semantic_threshold is not None else sem.threshold
    return Plan(
        read=mode != "refresh",
        write=mode != "read",
        ttl=ttl,
        stale=stale,
        shared=shared,
        semantic=threshold if on else None,
    )

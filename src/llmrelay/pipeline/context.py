"""What a layer may use when the stack is built: settings, model resolution, shared
state backends and the model catalog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmrelay.catalog import Catalog, overrides_from_settings
from llmrelay.resolve import Route
from llmrelay.settings import Settings
from llmrelay.state import StateContext

if TYPE_CHECKING:
    from llmrelay.pipeline.call import Call
    from llmrelay.transport.http import Transport


@dataclass(frozen=True, slots=True)
class StackContext:
    """``resolve`` is the client's (cached, bounded) model resolution; ``catalog`` the
    model facts and prices the client uses (loaded from settings when not given)."""

    settings: Settings
    resolve: Callable[[str | None], Route]
    state: StateContext
    environ: dict[str, str] = field(default_factory=dict)
    catalog: Catalog | None = None
    #: the client's ``send``: a layer that needs a call of its own (the semantic cache's
    #: embeddings) sends it through the whole pipeline (None: the stack has no client)
    send: Callable[[Call], Awaitable[Any]] | None = None
    #: the client's transport, for a layer that calls a service of its own (the guard's
    #: HTTP classifier); None: the stack has no client
    transport: Transport | None = None

    def model_catalog(self) -> Catalog:
        if self.catalog is not None:
            return self.catalog
        return Catalog.load(overrides_from_settings(self.settings))

"""Bounded metric labels: only names the configuration knows become label values.

A gateway that lets callers name any ``provider/model`` must not grow a time series per
name it is sent, so aliases, deployments and models outside the configuration are
counted under ``other``; user ids and key ids are never labels at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llmrelay.errors import LLMRelayError

#: the label value of every name the configuration does not know
OTHER = "other"

# error types that may appear as a label: llmrelay's own taxonomy plus the two ways a
# caller ends a call early; anything else (a user layer's exception) is "other"
_OWN_ERROR_MODULES = frozenset(("llmrelay.errors", "llmrelay.observe.guard"))
_FOREIGN_ERRORS = frozenset(("CancelledError", "GeneratorExit", "TimeoutError", "KeyboardInterrupt"))


@dataclass(frozen=True, slots=True)
class LabelBounds:
    """The allowed values of the ``alias``, ``deployment``, ``model`` and ``provider`` labels."""

    aliases: frozenset[str] = frozenset()
    deployments: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        aliases: Iterable[str],
        deployments: Iterable[str],
        models: Iterable[str],
        providers: Iterable[str],
    ) -> LabelBounds:
        return cls(frozenset(aliases), frozenset(deployments), frozenset(models), frozenset(providers))

    def alias(self, name: str | None) -> str:
        return name if name is not None and name in self.aliases else OTHER

    def deployment(self, name: str | None) -> str:
        return name if name is not None and name in self.deployments else OTHER

    def model(self, name: str | None) -> str:
        return name if name is not None and name in self.models else OTHER

    def provider(self, name: str | None) -> str:
        return name if name is not None and name in self.providers else OTHER


def error_label(exc_type: type[BaseException] | None) -> str:
    """A bounded label for an exception type: its class name when it is one of
    llmrelay's errors (or a cancellation), else ``other``; ``""`` for no error."""
    if exc_type is None:
        return ""
    name = exc_type.__name__
    if issubclass(exc_type, LLMRelayError) and exc_type.__module__ in _OWN_ERROR_MODULES:
        return name
    return name if name in _FOREIGN_ERRORS else OTHER

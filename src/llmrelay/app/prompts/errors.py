"""What can go wrong with a prompt template, each error naming the template and the culprit.

All are ``ConfigError``s: nothing was sent, and the fix is in the template, the library or
the variables given to it (the CLI exits with status 2 for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmrelay.errors import ConfigError


class PromptError(ConfigError):
    """Base of the prompt-template errors."""


class PromptNotFoundError(PromptError):
    """No template of that name (or no such version of it) is in the library."""


class PromptTemplateError(PromptError):
    """A template file is malformed: bad YAML or front matter, a Jinja syntax error, an
    undeclared variable used in the text, an unknown field. ``source`` is the file."""

    def __init__(self, message: str, *, source: str | None = None, **kw: Any) -> None:
        super().__init__(f"{source}: {message}" if source else message, **kw)
        self.source = source


class PromptVariableError(PromptError):
    """The variables given to ``render`` do not match the template's declaration.
    ``variables`` names the offending ones."""

    def __init__(self, message: str, *, variables: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.variables = tuple(variables)


class MissingVariableError(PromptVariableError):
    """A declared variable without a default was not given."""


class UnexpectedVariableError(PromptVariableError):
    """A variable was given that the template does not declare (often a typo)."""


class VariableTypeError(PromptVariableError):
    """A variable's value is not of its declared type or not one of its allowed values."""


class PromptRenderError(PromptError):
    """Rendering failed: an attribute or key the template reads is absent from a value,
    or the sandbox refused an operation. Nothing was sent."""

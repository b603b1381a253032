"""What can go wrong with an eval before anything is sent. All are ``ConfigError``s: the fix
is in the dataset, the scorers or the options (the CLI exits with status 2 for them)."""

from __future__ import annotations

from llmrelay.errors import ConfigError


class EvalError(ConfigError):
    """Base of the eval errors."""


class DatasetError(EvalError):
    """The dataset cannot be read, or one of its items is malformed (the message names it)."""


class ScorerSpecError(EvalError):
    """A scorer was asked for in a form that cannot work (unknown name, bad pattern or
    tolerance, a schema file that cannot be read, a ``module:function`` that does not import)."""

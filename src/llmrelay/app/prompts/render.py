"""The Jinja2 side of templates: a sandboxed, strict environment, compile-time checks, rendering.

Template text is untrusted input as far as the process is concerned (a prompt library may be
edited by people who must not run code), so it runs in Jinja's immutable sandbox: no access
to private attributes or to methods that change values, ``range`` capped. Undefined names
raise (``StrictUndefined``) instead of rendering as empty text, so nothing unresolved is
ever sent. Includes (``{% include "_partials/tone.j2" %}``) resolve only among the partials
the library read at load time; a template never reads a file while rendering.

Jinja2 is an optional dependency (``pip install 'llmrelay[prompts]'``), imported here only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from llmrelay.app.prompts.errors import PromptRenderError, PromptTemplateError
from llmrelay.errors import ConfigError

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.nodes import Template as TemplateNode
    from jinja2.sandbox import SandboxedEnvironment


def _jinja() -> Any:
    try:
        import jinja2
    except ImportError:
        raise ConfigError(
            "prompt templates need Jinja2, which is not installed: pip install 'llmrelay[prompts]'"
        ) from None
    return jinja2


def make_environment(partials: Mapping[str, str]) -> SandboxedEnvironment:
    """A sandboxed environment whose includes see only ``partials`` (name → source)."""
    jinja2 = _jinja()
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    sources = dict(partials)

    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        source = sources.get(name)
        return None if source is None else (source, name, lambda: True)

    env: SandboxedEnvironment = ImmutableSandboxedEnvironment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def _parse(env: SandboxedEnvironment, source: str, where: str) -> TemplateNode:
    jinja2 = _jinja()
    try:
        node: TemplateNode = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise PromptTemplateError(
            f"Jinja syntax error at line {exc.lineno}: {exc.message}", source=where
        ) from None
    return node


def names_used(env: SandboxedEnvironment, source: str, where: str, partials: Mapping[str, str]) -> set[str]:
    """The variables ``source`` reads from its context, including through its includes.

    Raises ``PromptTemplateError`` for a syntax error, an include of a partial that does
    not exist, or an include whose name is computed at render time (it could not be checked).
    """
    from jinja2 import meta

    seen: set[str] = set()
    used: set[str] = set()

    def walk(text: str, at: str) -> None:
        node = _parse(env, text, at)
        used.update(meta.find_undeclared_variables(node))
        for ref in meta.find_referenced_templates(node):
            if ref is None:
                raise PromptTemplateError(
                    "an include or import names its template with an expression; "
                    "write the partial's name as a string so it can be checked",
                    source=at,
                )
            if ref not in partials:
                known = ", ".join(sorted(partials)) or "none"
                raise PromptTemplateError(
                    f"includes {ref!r}, which is not a partial of this library (partials: {known})",
                    source=at,
                )
            if ref not in seen:
                seen.add(ref)
                walk(partials[ref], ref)

    walk(source, where)
    return used


def compile_text(env: SandboxedEnvironment, source: str, where: str) -> Template:
    jinja2 = _jinja()
    try:
        template: Template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise PromptTemplateError(
            f"Jinja syntax error at line {exc.lineno}: {exc.message}", source=where
        ) from None
    return template


def render_text(template: Template, values: Mapping[str, Any], where: str) -> str:
    """Render with ``values``; a missing name or attribute, or a refused operation, is a
    ``PromptRenderError`` naming it."""
    jinja2 = _jinja()
    from jinja2.exceptions import SecurityError

    try:
        return template.render(**values)
    except jinja2.UndefinedError as exc:
        raise PromptRenderError(f"{where}: {exc.message} (nothing was sent)") from None
    except SecurityError as exc:
        raise PromptRenderError(f"{where}: the sandbox refused: {exc}") from None
    except jinja2.TemplateError as exc:
        raise PromptRenderError(f"{where}: {type(exc).__name__}: {exc}") from None

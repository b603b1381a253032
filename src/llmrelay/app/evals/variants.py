"""Variants: the prompt versions × models an eval compares, and the request each sends for an item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrelay.app.evals.dataset import EvalItem
from llmrelay.app.evals.errors import DatasetError, EvalError
from llmrelay.errors import ConfigError
from llmrelay.messages import coerce_messages
from llmrelay.types import Message

if TYPE_CHECKING:
    from llmrelay.app.prompts import PromptLibrary, PromptTemplate


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm of the eval: a prompt template version (None: send each item's ``input``)
    and a model (None: the template's, else the client's default). ``label`` names it in
    the report."""

    label: str
    model: str | None = None
    prompt: PromptTemplate | None = None

    @property
    def prompt_label(self) -> str | None:
        return self.prompt.label if self.prompt is not None else None

    def messages(
        self, item: EvalItem, params: Mapping[str, Any] | None = None
    ) -> tuple[tuple[Message, ...], dict[str, Any]]:
        """The messages and ``Client.chat`` keyword arguments for ``item`` (pure). The
        template's params are defaults; ``params`` win. Raises a ``ConfigError`` naming the
        item when its variables do not fit the template or it has nothing to send."""
        if self.prompt is not None:
            from llmrelay.app.prompts import call_arguments

            try:
                rendered = self.prompt.render(item.vars)
            except ConfigError as exc:
                raise DatasetError(f"item {item.id!r}: {exc.message}") from None
            messages, kwargs = call_arguments(rendered, model=self.model, params=params)
            return tuple(messages), kwargs
        if item.input is None:
            raise DatasetError(
                f"item {item.id!r} has no input, and the variant {self.label} has no prompt template to "
                "fill in; give the item an input or run the eval with --prompt NAME@VERSION"
            )
        kwargs = dict(params or {})
        if self.model is not None:
            kwargs["model"] = self.model
        try:
            return coerce_messages(item.input if isinstance(item.input, str) else list(item.input)), kwargs
        except ConfigError as exc:
            raise DatasetError(f"item {item.id!r}: {exc.message}") from None


def make_variants(
    prompts: Sequence[str | PromptTemplate] = (),
    models: Sequence[str] = (),
    *,
    library: PromptLibrary | None = None,
) -> list[Variant]:
    """Every prompt × model. Prompts are templates or ``name@version`` labels looked up in
    ``library`` (``name`` alone: its default version). Labels are ``name@version`` when
    there is one model, the model when there is one prompt (or none), else both."""
    templates: list[PromptTemplate | None] = []
    for p in prompts:
        if isinstance(p, str):
            if library is None:
                raise EvalError(
                    f"the prompt {p!r} is named, but no prompt library was given to look it up in"
                )
            templates.append(library.get(p))
        else:
            templates.append(p)
    if not templates:
        templates = [None]
    chosen: list[str | None] = list(models) or [None]
    out: list[Variant] = []
    for template in templates:
        for model in chosen:
            name = template.label if template is not None else None
            if len(chosen) == 1 and name is not None:
                label = name if model is None or len(templates) > 1 else f"{name} · {model}"
            elif len(templates) == 1 or name is None:
                label = model or "default model"
            else:
                label = f"{name} · {model}"
            out.append(Variant(label, model, template))
    labels = [v.label for v in out]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise EvalError(f"variants repeat: {', '.join(dupes)}; name each prompt version and model once")
    return out

"""An eval's dataset: items with the variables a prompt template takes and what a good answer is.

A JSONL file, one object per line::

    {"id": "q1", "vars": {"question": "What is 6 x 7?"}, "expected": "42"}
    {"id": "q2", "input": "Name a prime above 10.", "pattern": "\\b(11|13|17|19)\\b"}

``vars`` fill the prompt template of each variant; ``input`` (a string or a list of
messages) is sent as it is when a variant has no template. ``expected`` is the reference
(a string, a number, a JSON value, or a list of acceptable answers for exact and numeric
scorers); ``pattern`` and ``schema`` give a regex or JSON Schema for this item only;
``meta`` is carried to the results untouched. Anything else is an error naming the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmrelay.app.evals.errors import DatasetError

_FIELDS = frozenset(("id", "vars", "input", "expected", "pattern", "schema", "meta"))


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One dataset item. ``input`` is None when only templates use the item (``vars``)."""

    id: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    input: str | tuple[Mapping[str, Any], ...] | None = None
    expected: Any = None
    pattern: str | None = None
    schema: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, default_id: str, where: str) -> EvalItem:
        """An item from its JSON form; ``where`` (``line 3``) names it in errors."""
        unknown = sorted(str(k) for k in set(raw) - _FIELDS)
        if unknown:
            raise DatasetError(
                f"{where}: unknown field(s) {', '.join(unknown)}; an item has {', '.join(sorted(_FIELDS))} "
                "(put anything else under meta)"
            )
        item_id = raw.get("id", default_id)
        if isinstance(item_id, bool) or not isinstance(item_id, str | int) or item_id == "":
            raise DatasetError(f"{where}: id must be a non-empty string or an integer, got {item_id!r}")
        values = raw.get("vars", {})
        if not isinstance(values, Mapping):
            raise DatasetError(f"{where}: vars must be an object of template variables")
        text = raw.get("input")
        messages: str | tuple[Mapping[str, Any], ...] | None
        if text is None or isinstance(text, str):
            messages = text
        elif isinstance(text, list) and all(isinstance(m, Mapping) for m in text):
            messages = tuple(text)
        else:
            raise DatasetError(f"{where}: input must be a string or a list of {{role, content}} messages")
        pattern = raw.get("pattern")
        if pattern is not None and not isinstance(pattern, str):
            raise DatasetError(f"{where}: pattern must be a regular expression (a string)")
        schema = raw.get("schema")
        if schema is not None and not isinstance(schema, Mapping):
            raise DatasetError(f"{where}: schema must be a JSON Schema object")
        meta = raw.get("meta", {})
        if not isinstance(meta, Mapping):
            raise DatasetError(f"{where}: meta must be an object")
        return cls(
            id=str(item_id),
            vars=dict(values),
            input=messages,
            expected=raw.get("expected"),
            pattern=pattern,
            schema=schema,
            meta=dict(meta),
        )


def load_dataset(source: str | Path | Iterable[EvalItem | Mapping[str, Any]]) -> list[EvalItem]:
    """The items of a JSONL file (a path) or of an iterable of ``EvalItem``s and dicts.

    Raises ``DatasetError`` naming the line for a line that is not a JSON object or not a
    valid item, for two items with one id, and for an empty dataset.
    """
    items: list[EvalItem] = []
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DatasetError(f"cannot read the dataset {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise DatasetError(f"the dataset {path} is not UTF-8 text (JSON Lines expected)") from None
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where} is not valid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(raw, Mapping):
                raise DatasetError(f"{where} must be a JSON object, got {type(raw).__name__}")
            items.append(EvalItem.from_dict(raw, default_id=f"line-{number}", where=where))
    else:
        for index, raw in enumerate(source):
            if isinstance(raw, EvalItem):
                items.append(raw)
            elif isinstance(raw, Mapping):
                items.append(EvalItem.from_dict(raw, default_id=str(index), where=f"item {index}"))
            else:
                raise DatasetError(f"item {index} is a {type(raw).__name__}; give EvalItems or dicts")
    if not items:
        raise DatasetError("the dataset has no items")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(
                f"two items have the id {item.id!r}; ids pair the variants' answers, so each must be unique"
            )
        seen.add(item.id)
    return items

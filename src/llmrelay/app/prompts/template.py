"""One prompt template: its definition, reading it from a file, and rendering it.

Two file forms hold the same fields:

* YAML (``.yaml``/``.yml``): ``name``, ``version``, ``description``, ``model``, ``params``,
  ``variables``, ``system``, ``user`` (and ``default: true`` to make this version the
  name's default).
* Jinja with front matter (``.j2``/``.jinja``/``.jinja2``): the fields above as YAML
  between two ``---`` lines, then the user part as the body.

``system`` and ``user`` are Jinja text rendered in the sandbox (see ``render``). Every name
the text reads must be declared under ``variables``; that is checked when the template is
loaded, so a typo fails at load time, not in production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from llmrelay.app.prompts import render as jinja
from llmrelay.app.prompts.errors import (
    MissingVariableError,
    PromptTemplateError,
    UnexpectedVariableError,
    VariableTypeError,
)
from llmrelay.app.prompts.variables import Variable, parse_variables, resolve
from llmrelay.types import Message

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from llmrelay.app.prompts.call import PromptResponse
    from llmrelay.client import Client
    from llmrelay.stream import ChatStream

YAML_SUFFIXES = (".yaml", ".yml")
JINJA_SUFFIXES = (".j2", ".jinja", ".jinja2")

#: sampling and output settings a template may suggest; the caller's own values win
PARAMS: frozenset[str] = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "parallel_tool_calls",
    }
)
_FIELDS = frozenset(
    {"name", "version", "description", "model", "params", "variables", "system", "user", "default"}
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
_PROMPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A template filled in: the text to send and where it came from.

    ``model`` and ``params`` are the template's hints; ``metadata`` is what a call records
    (``{"prompt": name, "prompt_version": version}``), which the ledger stores so usage can
    be totalled by prompt (``llmrelay usage --by prompt``).
    """

    name: str
    version: str
    system: str | None
    user: str | None
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    experiment: str | None = None

    @property
    def metadata(self) -> dict[str, str]:
        return {"prompt": self.name, "prompt_version": self.version}

    def messages(self) -> list[Message]:
        """The system part (when there is one) and the user part (when there is one)."""
        out = [Message.system(self.system)] if self.system else []
        if self.user:
            out.append(Message.user(self.user))
        return out

    async def chat(
        self, client: Client, *, history: Sequence[Message] = (), model: str | None = None, **params: Any
    ) -> PromptResponse:
        """Send it with ``client.chat`` (see ``llmrelay.app.prompts.call.chat_prompt``)."""
        from llmrelay.app.prompts.call import chat_prompt

        return await chat_prompt(client, self, history=history, model=model, **params)

    def stream(
        self, client: Client, *, history: Sequence[Message] = (), model: str | None = None, **params: Any
    ) -> ChatStream:
        """Stream it with ``client.stream`` (see ``llmrelay.app.prompts.call.stream_prompt``)."""
        from llmrelay.app.prompts.call import stream_prompt

        return stream_prompt(client, self, history=history, model=model, **params)


@dataclass(frozen=True, slots=True, eq=False)
class PromptTemplate:
    """A parsed, checked template. Build one with ``from_file``, ``from_text`` or ``from_dict``
    (or get one from a ``PromptLibrary``); ``render`` fills it in."""

    name: str
    version: str
    system_source: str | None
    user_source: str | None
    variables: tuple[Variable, ...] = ()
    description: str | None = None
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    default: bool = False
    _system: Template | None = field(default=None, repr=False)
    _user: Template | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """``name@version``, as listings and errors show it."""
        return f"{self.name}@{self.version}"

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | None = None,
        default_name: str | None = None,
        partials: Mapping[str, str] | None = None,
        environment: SandboxedEnvironment | None = None,
    ) -> PromptTemplate:
        """A template from its fields (as a YAML file holds them). ``partials`` are the
        sources includes may name; ``environment`` shares one compiled environment among the
        templates of a library."""
        where = source or f"template {data.get('name') or default_name or '?'}"
        unknown = sorted(str(k) for k in set(data) - _FIELDS)
        if unknown:
            raise PromptTemplateError(
                f"unknown field(s) {', '.join(unknown)}; a template has {', '.join(sorted(_FIELDS))}",
                source=where,
            )
        name = data.get("name", default_name)
        if not isinstance(name, str) or not _PROMPT_NAME.match(name):
            raise PromptTemplateError(
                f"name {name!r} is not valid: letters, digits, '-', '_', '.', '/' (give name: in the file)",
                source=where,
            )
        version = _version(data.get("version"), where)
        system, user = data.get("system"), data.get("user")
        for part, text in (("system", system), ("user", user)):
            if text is not None and not isinstance(text, str):
                raise PromptTemplateError(f"{part} must be text, got {type(text).__name__}", source=where)
        if not system and not user:
            raise PromptTemplateError("has neither a system nor a user part; give at least one", source=where)
        declared, problems = parse_variables(data.get("variables"), "variables")
        if problems:
            raise PromptTemplateError("; ".join(problems), source=where)
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise PromptTemplateError("params must be a mapping, e.g. {temperature: 0.2}", source=where)
        bad = sorted(str(k) for k in set(params) - PARAMS)
        if bad:
            raise PromptTemplateError(
                f"params {', '.join(bad)} are not suggestions a template can make; "
                f"use {', '.join(sorted(PARAMS))}",
                source=where,
            )
        model = data.get("model")
        if model is not None and not isinstance(model, str):
            raise PromptTemplateError("model must be a model name or alias", source=where)
        description = data.get("description")
        default = data.get("default", False)
        if not isinstance(default, bool):
            raise PromptTemplateError("default must be true or false", source=where)
        parts = dict(partials or {})
        env = environment if environment is not None else jinja.make_environment(parts)
        used: set[str] = set()
        compiled: dict[str, Template | None] = {}
        for part, text in (("system", system), ("user", user)):
            if text:
                used |= jinja.names_used(env, text, f"{where} ({part})", parts)
                compiled[part] = jinja.compile_text(env, text, f"{where} ({part})")
            else:
                compiled[part] = None
        undeclared = sorted(used - {v.name for v in declared})
        if undeclared:
            raise PromptTemplateError(
                f"uses {', '.join(undeclared)} but does not declare "
                f"{'it' if len(undeclared) == 1 else 'them'} under variables",
                source=where,
            )
        return cls(
            name=name,
            version=version,
            system_source=system or None,
            user_source=user or None,
            variables=declared,
            description=str(description).strip() if description is not None else None,
            model=model,
            params=dict(params),
            source=source,
            default=default,
            _system=compiled["system"],
            _user=compiled["user"],
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        jinja_body: bool = False,
        source: str | None = None,
        default_name: str | None = None,
        partials: Mapping[str, str] | None = None,
        environment: SandboxedEnvironment | None = None,
    ) -> PromptTemplate:
        """A template from a YAML document, or (``jinja_body=True``) from front matter plus
        a Jinja body that is the user part."""
        data = split_front_matter(text, source) if jinja_body else _yaml(text, source)
        return cls.from_dict(
            data, source=source, default_name=default_name, partials=partials, environment=environment
        )

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        partials: Mapping[str, str] | None = None,
        environment: SandboxedEnvironment | None = None,
    ) -> PromptTemplate:
        """Read a ``.yaml``/``.yml`` or ``.j2``/``.jinja``/``.jinja2`` template; its name
        defaults to the file's stem."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in YAML_SUFFIXES + JINJA_SUFFIXES:
            raise PromptTemplateError(
                f"is not a template file: use {', '.join(YAML_SUFFIXES + JINJA_SUFFIXES)}", source=str(p)
            )
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PromptTemplateError(f"cannot be read: {exc}", source=str(p)) from None
        return cls.from_text(
            text,
            jinja_body=suffix in JINJA_SUFFIXES,
            source=str(p),
            default_name=p.name.split(".", 1)[0],
            partials=partials,
            environment=environment,
        )

    # ------------------------------------------------------------------ rendering

    def render(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> RenderedPrompt:
        """Fill the template in. A declared variable without a default that is not given,
        a value of the wrong type, and a variable the template does not declare are each a
        typed error naming the variable; nothing unresolved ever comes out."""
        given = {**(values or {}), **kwargs}
        checked = resolve(self.variables, given)
        if checked.missing:
            names = ", ".join(checked.missing)
            raise MissingVariableError(
                f"prompt {self.label} needs the variable{'s' if len(checked.missing) > 1 else ''} {names}",
                variables=checked.missing,
            )
        if checked.unexpected:
            names = ", ".join(checked.unexpected)
            declared = ", ".join(v.name for v in self.variables) or "none"
            raise UnexpectedVariableError(
                f"prompt {self.label} does not declare {names} (it declares: {declared})",
                variables=checked.unexpected,
            )
        if checked.wrong:
            raise VariableTypeError(
                f"prompt {self.label}: " + "; ".join(why for _, why in checked.wrong),
                variables=[name for name, _ in checked.wrong],
            )
        system = self._fill(self._system, checked.values, "system")
        user = self._fill(self._user, checked.values, "user")
        return RenderedPrompt(
            name=self.name,
            version=self.version,
            system=system,
            user=user,
            model=self.model,
            params=dict(self.params),
            variables=checked.values,
        )

    def _fill(self, template: Template | None, values: Mapping[str, Any], part: str) -> str | None:
        if template is None:
            return None
        return jinja.render_text(template, values, f"prompt {self.label} ({part})").strip() or None


def _version(raw: Any, where: str) -> str:
    if isinstance(raw, bool) or raw is None:
        raise PromptTemplateError("needs a version, e.g. version: v1", source=where)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        # YAML reads 1.10 as the number 1.1; only the text keeps what was meant
        raise PromptTemplateError(f"version {raw!r} is a number: quote it (version: '{raw}')", source=where)
    if not isinstance(raw, str) or not raw.strip() or "@" in raw:
        raise PromptTemplateError(f"version {raw!r} must be non-empty text without '@'", source=where)
    return raw.strip()


def _yaml(text: str, source: str | None) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptTemplateError(f"is not valid YAML: {exc}", source=source) from None
    if not isinstance(data, dict):
        raise PromptTemplateError("must be a YAML mapping of template fields", source=source)
    return data


def split_front_matter(text: str, source: str | None) -> dict[str, Any]:
    """The fields of a Jinja template file: its YAML front matter, with the body as ``user``."""
    m = _FRONT_MATTER.match(text)
    if m is None:
        raise PromptTemplateError(
            "a Jinja template starts with YAML front matter between two '---' lines "
            "(name, version, variables…); a file meant to be included goes in a folder or file named _…",
            source=source,
        )
    data = _yaml(m.group(1), source) if m.group(1).strip() else {}
    body = text[m.end() :]
    if body.strip():
        if "user" in data:
            raise PromptTemplateError(
                "has both a user field in its front matter and a body; the body is the user part",
                source=source,
            )
        data["user"] = body
    return data

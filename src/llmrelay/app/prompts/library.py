"""A prompt library: the templates of a folder, by name and version, with defaults and A/B splits.

Layout (everything optional but the templates)::

    prompts/
      _library.yaml          defaults and experiments (below)
      _partials/tone.j2      included text: a file or folder whose name starts with _
      greeting.yaml          a template (name defaults to the file's stem)
      support/v1.yaml        several versions of one name, each declaring name: and version:
      support/v2.j2

``_library.yaml``::

    defaults:                # the version used when none is asked for
      support: v1
    experiments:             # who gets which version, by user id
      support: {v1: 50, v2: 50}
      # or: support: {split: {v1: 90, v2: 10}, salt: support-2026-q1}

Without a ``defaults`` entry a name's default is the version marked ``default: true``, else
the highest version (``v10`` sorts after ``v9``). Everything is read and checked when the
library loads; rendering never touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from llmrelay.app.prompts import render as jinja
from llmrelay.app.prompts.ab import Experiment
from llmrelay.app.prompts.errors import PromptNotFoundError, PromptTemplateError
from llmrelay.app.prompts.template import JINJA_SUFFIXES, YAML_SUFFIXES, PromptTemplate, RenderedPrompt

MANIFEST = "_library.yaml"
_DIGITS = re.compile(r"(\d+)")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: numbers compare as numbers (v2 < v10), text as text."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _DIGITS.split(version) if p)


class PromptLibrary:
    """Templates by name and version. Build one with ``PromptLibrary.load(folder)`` or from
    ``PromptTemplate`` objects; it is immutable once built."""

    def __init__(
        self,
        templates: Iterable[PromptTemplate],
        *,
        defaults: Mapping[str, str] | None = None,
        experiments: Iterable[Experiment] = (),
        root: Path | None = None,
    ) -> None:
        self.root = root
        self._by_name: dict[str, dict[str, PromptTemplate]] = {}
        for t in templates:
            versions = self._by_name.setdefault(t.name, {})
            if t.version in versions:
                first = versions[t.version].source or "a template"
                raise PromptTemplateError(
                    f"{t.label} is defined twice: in {first} and in {t.source or 'a template'}"
                )
            versions[t.version] = t
        self._defaults: dict[str, str] = {}
        for name, versions in self._by_name.items():
            self._defaults[name] = _default_version(name, versions, (defaults or {}).get(name))
        unknown = sorted(set(defaults or {}) - set(self._by_name))
        if unknown:
            raise PromptTemplateError(f"defaults name prompts that do not exist: {', '.join(unknown)}")
        self._experiments: dict[str, Experiment] = {}
        for exp in experiments:
            self._check_experiment(exp)
            self._experiments[exp.prompt] = exp

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, folder: str | Path) -> PromptLibrary:
        """Read every template, partial and the manifest under ``folder``."""
        root = Path(folder)
        if not root.is_dir():
            raise PromptNotFoundError(
                f"prompt library {root} is not a folder: create it, "
                "or point --dir / PromptLibrary.load at one"
            )
        partials: dict[str, str] = {}
        files: list[Path] = []
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if not path.is_file() or any(p.startswith(".") for p in rel.parts) or rel.as_posix() == MANIFEST:
                continue
            if any(p.startswith("_") for p in rel.parts):
                partials[rel.as_posix()] = _read(path)
            elif path.suffix.lower() in YAML_SUFFIXES + JINJA_SUFFIXES:
                files.append(path)
        env = jinja.make_environment(partials)
        templates = [PromptTemplate.from_file(p, partials=partials, environment=env) for p in files]
        defaults, experiments = _manifest(root / MANIFEST)
        return cls(templates, defaults=defaults, experiments=experiments, root=root)

    # ------------------------------------------------------------------ queries

    def __iter__(self) -> Iterator[PromptTemplate]:
        for name in self.names():
            for version in self.versions(name):
                yield self._by_name[name][version]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> list[str]:
        """The versions of ``name``, lowest first."""
        return sorted(self._versions(name), key=version_key)

    def default_version(self, name: str) -> str:
        self._versions(name)
        return self._defaults[name]

    def experiment(self, name: str) -> Experiment | None:
        return self._experiments.get(name)

    def get(self, name: str, version: str | None = None, *, user_id: str | None = None) -> PromptTemplate:
        """A template: ``version`` if given (``name@version`` works too), else the version
        the name's experiment assigns to ``user_id``, else the default."""
        return self.choose(name, version=version, user_id=user_id)[0]

    def choose(
        self, name: str, *, version: str | None = None, user_id: str | None = None
    ) -> tuple[PromptTemplate, Experiment | None]:
        """The template to use, and the experiment that picked it (None when the version
        was given or is the default)."""
        if version is None and "@" in name:
            name, version = name.split("@", 1)
        versions = self._versions(name)
        experiment = None
        if version is None:
            exp = self._experiments.get(name)
            if exp is not None and user_id is not None:
                version, experiment = exp.assign(user_id), exp
            else:
                version = self._defaults[name]
        template = versions.get(version)
        if template is None:
            raise PromptNotFoundError(
                f"prompt {name} has no version {version!r}; it has {', '.join(self.versions(name))}"
            )
        return template, experiment

    def render(
        self,
        name: str,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        version: str | None = None,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> RenderedPrompt:
        """Choose (as ``choose``) and fill in a template; the result names the experiment
        when one picked the version."""
        template, experiment = self.choose(name, version=version, user_id=user_id)
        rendered = template.render(values, **kwargs)
        return replace(rendered, experiment=experiment.salt or experiment.prompt) if experiment else rendered

    # ------------------------------------------------------------------ internals

    def _versions(self, name: str) -> dict[str, PromptTemplate]:
        versions = self._by_name.get(name)
        if versions is None:
            close = [n for n in self.names() if name.lower() in n.lower() or n.lower() in name.lower()]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            where = f" in {self.root}" if self.root is not None else ""
            raise PromptNotFoundError(f"no prompt named {name!r}{where}{hint}")
        return versions

    def _check_experiment(self, exp: Experiment) -> None:
        versions = self._by_name.get(exp.prompt)
        if versions is None:
            raise PromptTemplateError(f"experiment names the prompt {exp.prompt!r}, which does not exist")
        missing = [v for v, _ in exp.split if v not in versions]
        if missing:
            raise PromptTemplateError(
                f"experiment {exp.prompt} splits between versions that do not exist: {', '.join(missing)} "
                f"(it has {', '.join(self.versions(exp.prompt))})"
            )


def _default_version(name: str, versions: Mapping[str, PromptTemplate], configured: str | None) -> str:
    if configured is not None:
        if configured not in versions:
            raise PromptTemplateError(
                f"defaults: {name} is set to {configured!r}, which is not one of its versions "
                f"({', '.join(sorted(versions, key=version_key))})"
            )
        return configured
    marked = [t for t in versions.values() if t.default]
    if len(marked) > 1:
        raise PromptTemplateError(
            f"{name}: several versions say default: true ({', '.join(t.version for t in marked)}); keep one"
        )
    if marked:
        return marked[0].version
    return max(versions, key=version_key)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptTemplateError(f"cannot be read: {exc}", source=str(path)) from None


def _manifest(path: Path) -> tuple[dict[str, str], list[Experiment]]:
    if not path.exists():
        return {}, []
    where = str(path)
    try:
        data = yaml.safe_load(_read(path)) or {}
    except yaml.YAMLError as exc:
        raise PromptTemplateError(f"is not valid YAML: {exc}", source=where) from None
    if not isinstance(data, Mapping):
        raise PromptTemplateError("must be a mapping with defaults and experiments", source=where)
    unknown = sorted(str(k) for k in set(data) - {"defaults", "experiments"})
    if unknown:
        raise PromptTemplateError(f"unknown section(s) {', '.join(unknown)}", source=where)
    raw_defaults = data.get("defaults") or {}
    if not isinstance(raw_defaults, Mapping):
        raise PromptTemplateError("defaults must map prompt names to versions", source=where)
    defaults = {str(k): str(v) for k, v in raw_defaults.items()}
    raw_exps = data.get("experiments") or {}
    if not isinstance(raw_exps, Mapping):
        raise PromptTemplateError("experiments must map prompt names to splits", source=where)
    experiments = []
    for prompt, spec in raw_exps.items():
        if not isinstance(spec, Mapping):
            raise PromptTemplateError(f"experiments.{prompt} must map versions to weights", source=where)
        if "split" in spec:
            split, salt = spec["split"], spec.get("salt")
            if not isinstance(split, Mapping):
                raise PromptTemplateError(
                    f"experiments.{prompt}.split must map versions to weights", source=where
                )
        else:
            split, salt = spec, None
        experiments.append(
            Experiment.from_mapping(str(prompt), split, str(salt) if salt is not None else None, where=where)
        )
    return defaults, experiments

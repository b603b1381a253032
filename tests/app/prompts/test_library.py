"""A library folder: versions, defaults, includes, experiments, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.app.prompts.conftest import GREETING, SUPPORT_V2, write

from llmrelay.app.prompts import (
    Experiment,
    PromptLibrary,
    PromptNotFoundError,
    PromptTemplate,
    PromptTemplateError,
    version_key,
)


def test_loads_templates_partials_and_manifest(library_dir: Path) -> None:
    lib = PromptLibrary.load(library_dir)
    assert lib.names() == ["greeting", "support"]
    assert len(lib) == 3 and "support" in lib and "nope" not in lib
    assert lib.versions("support") == ["v1", "v2"]
    assert lib.default_version("support") == "v1"  # the manifest says so, although v2 is higher
    assert lib.default_version("greeting") == "1"
    v1 = lib.get("support")
    assert v1.version == "v1" and v1.source == str(library_dir / "support" / "v1.yaml")
    assert [t.label for t in lib] == ["greeting@1", "support@v1", "support@v2"]
    out = lib.render("support", question="Where is my parcel?")
    assert out.system == "You are a support agent for Relay.\nAnswer in a friendly tone."
    assert out.user == "Where is my parcel?" and out.experiment is None
    v2 = lib.render("support@v2", question="Hi", tone="friendly")
    assert v2.system == "Be brief. Answer in a friendly tone."
    assert v2.user == "Customer question about Relay: Hi"
    assert lib.render("greeting", names=["Ann", "Bo"]).user == "Greet Ann, Bo."


def test_a_user_id_picks_the_version_by_the_experiment(library_dir: Path) -> None:
    lib = PromptLibrary.load(library_dir)
    exp = lib.experiment("support")
    assert exp is not None and exp.shares == {"v1": 0.5, "v2": 0.5}
    seen = set()
    for i in range(40):
        user = f"user-{i}"
        template, chosen_by = lib.choose("support", user_id=user)
        assert chosen_by is exp and template.version == exp.assign(user)
        rendered = lib.render("support", question="q", user_id=user)
        assert rendered.version == template.version and rendered.experiment == "support"
        seen.add(template.version)
    assert seen == {"v1", "v2"}
    # an explicit version wins over the experiment, and without a user id the default is used
    assert lib.choose("support", version="v2", user_id="user-1") == (lib.get("support", "v2"), None)
    assert lib.choose("support")[0].version == "v1"


def test_default_without_manifest_is_the_marked_one_else_the_highest(tmp_path: Path) -> None:
    def lib_with(*versions: str, marked: str | None = None) -> PromptLibrary:
        templates = [
            PromptTemplate.from_dict({"name": "p", "version": v, "user": "x", "default": v == marked})
            for v in versions
        ]
        return PromptLibrary(templates)

    assert lib_with("v2", "v10", "v9").default_version("p") == "v10"
    assert lib_with("v2", "v10", marked="v2").default_version("p") == "v2"
    assert sorted(["1.10", "1.9", "1.2.1", "2"], key=version_key) == ["1.2.1", "1.9", "1.10", "2"]


def test_not_found_errors_help(library_dir: Path) -> None:
    lib = PromptLibrary.load(library_dir)
    with pytest.raises(PromptNotFoundError, match=r"no prompt named 'suport'"):
        lib.get("suport")
    with pytest.raises(PromptNotFoundError, match=r"did you mean support"):
        lib.get("support-bot")
    with pytest.raises(PromptNotFoundError, match=r"has no version 'v7'; it has v1, v2"):
        lib.get("support", "v7")
    with pytest.raises(PromptNotFoundError, match="is not a folder"):
        PromptLibrary.load(library_dir / "missing")


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        (
            {
                "a.yaml": GREETING.replace("version: 1", "name: g\nversion: 1"),
                "b.yaml": "name: g\n" + GREETING,
            },
            "g@1 is defined twice",
        ),
        ({"g.yaml": GREETING, "_library.yaml": "defaults: {g: '9'}"}, "defaults: g is set to '9'"),
        (
            {"g.yaml": GREETING, "_library.yaml": "defaults: {h: '1'}"},
            "defaults name prompts that do not exist: h",
        ),
        (
            {"g.yaml": GREETING, "_library.yaml": "experiments: {g: {'1': 1, '2': 1}}"},
            "versions that do not exist: 2",
        ),
        ({"g.yaml": GREETING, "_library.yaml": "experiments: {h: {'1': 1}}"}, "names the prompt 'h'"),
        ({"g.yaml": GREETING, "_library.yaml": "experiments: {g: {'1': -1}}"}, "must be a number ≥ 0"),
        (
            {"g.yaml": GREETING, "_library.yaml": "experiments: {g: {'1': 0}}"},
            "at least one version a weight > 0",
        ),
        ({"g.yaml": GREETING, "_library.yaml": "extra: 1"}, "unknown section(s) extra"),
        ({"g.yaml": GREETING, "_library.yaml": "experiments: [1]"}, "must map prompt names to splits"),
        (
            {
                "g.yaml": GREETING.replace("default", "x"),
                "h.yaml": "version: 1\ndefault: true\nuser: a",
                "h2.yaml": "name: h\nversion: 2\ndefault: true\nuser: b",
            },
            "several versions say default: true",
        ),
        ({"s.j2": SUPPORT_V2}, "includes '_partials/tone.j2', which is not a partial"),
    ],
)
def test_a_broken_library_fails_at_load_naming_the_problem(
    tmp_path: Path, files: dict[str, str], fragment: str
) -> None:
    with pytest.raises(PromptTemplateError) as info:
        PromptLibrary.load(write(tmp_path / "lib", files))
    assert fragment in str(info.value)


def test_experiment_long_form_with_salt(tmp_path: Path) -> None:
    manifest = "experiments:\n  g: {split: {'1': 9, '2': 1}, salt: g-2026}\n"
    lib = PromptLibrary.load(
        write(
            tmp_path / "lib",
            {
                "g1.yaml": "name: g\n" + GREETING,
                "g2.yaml": "name: g\n" + GREETING.replace("version: 1", "version: 2"),
                "_library.yaml": manifest,
            },
        )
    )
    exp = lib.experiment("g")
    assert exp == Experiment("g", (("1", 9.0), ("2", 1.0)), "g-2026")
    assert lib.render("g", names=[], user_id="u").experiment == "g-2026"

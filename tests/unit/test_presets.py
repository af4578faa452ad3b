"""Task templates: every built-in preset loads, is consistent and documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from judgeloop.errors import InvalidInput, NotFound
from judgeloop.presets import (
    SETTINGS,
    TASK_TYPES,
    Preset,
    get_preset,
    list_presets,
    load_preset_file,
    preset_names,
)
from judgeloop.questions.base import ItemContext, QuestionSpec, check_questions, validate_answers

EXPECTED = {
    "response_rating",
    "ab_comparison",
    "ranking",
    "prompt_evaluation",
    "fact_checking",
    "annotation",
    "rewriting",
    "ideal_answer",
    "safety_review",
    "domain_expert_review",
    "coding_evaluation",
    "search_relevance",
    "translation_evaluation",
    "red_teaming",
}
PRESETS = list_presets()
DOCS = Path(__file__).resolve().parents[2] / "docs"


def by_name(preset: Preset) -> str:
    return preset.name


def test_all_fourteen_presets_load() -> None:
    assert {p.name for p in PRESETS} == EXPECTED
    assert preset_names() == sorted(EXPECTED)


@pytest.mark.parametrize("preset", PRESETS, ids=by_name)
def test_questions_and_rubric_pass_check_questions(preset: Preset) -> None:
    specs, dims = check_questions(preset.questions, preset.rubric)
    assert len(specs) == len(preset.questions)
    assert len(dims) == len(preset.rubric)
    assert preset.task_type in TASK_TYPES
    assert preset.title and preset.description


@pytest.mark.parametrize("preset", PRESETS, ids=by_name)
def test_every_rubric_level_is_described(preset: Preset) -> None:
    _, dims = preset.checked()
    for dim in dims:
        assert dim.description.strip(), dim.key
        assert sorted(dim.levels) == list(range(min(dim.levels), max(dim.levels) + 1)), dim.key
        for score, text in dim.levels.items():
            assert len(text.split()) >= 2 and text.endswith("."), (dim.key, score)


@pytest.mark.parametrize("preset", PRESETS, ids=by_name)
def test_rating_questions_use_described_rubric_dimensions(preset: Preset) -> None:
    specs, dims = preset.checked()
    keys = {d.key for d in dims}
    for spec in specs:
        if spec.kind == "rating":
            config = spec.parsed_config()
            assert config.dimension in keys, spec.key
            assert set(config.levels) == set(range(config.min, config.max + 1)), spec.key


@pytest.mark.parametrize("preset", PRESETS, ids=by_name)
def test_guidelines_have_a_worked_example(preset: Preset) -> None:
    assert preset.guidelines.lstrip().startswith("# ")
    assert re.search(r"^## Worked example$", preset.guidelines, re.MULTILINE)
    example = preset.guidelines.split("## Worked example", 1)[1]
    assert len(example.split()) >= 20


def test_same_dimension_means_the_same_everywhere() -> None:
    seen: dict[str, tuple[str, dict[Any, str], str]] = {}
    for preset in PRESETS:
        for dim in preset.rubric:
            definition = (dim["name"], dim["levels"], dim.get("description", ""))
            first = seen.setdefault(dim["key"], definition)
            assert definition == first, f"{preset.name}: {dim['key']} differs"
    assert len(seen) >= 10


@pytest.mark.parametrize("preset", PRESETS, ids=by_name)
def test_candidate_limits_fit_the_questions(preset: Preset) -> None:
    specs, _ = preset.checked()
    kinds = {s.kind for s in specs}
    if kinds & {"preference", "ranking"}:
        assert preset.min_candidates >= 2
    for spec in specs:
        targets = [*spec.config.get("targets", []), spec.config.get("target", "")]
        if spec.kind in ("spans", "claims") and any(t not in ("", "prompt") for t in targets):
            assert preset.min_candidates >= 1
            assert preset.max_candidates == 1, "offsets point into candidate A only"


def _sample_value(spec: QuestionSpec, ctx: ItemContext) -> Any:
    config = spec.parsed_config()
    samples: dict[str, Any] = {
        "rating": lambda: config.min,
        "choice": lambda: [config.options[0].value] if config.multiple else config.options[0].value,
        "preference": lambda: {"winner": ctx.candidate_keys[0], "strength": 1},
        "ranking": lambda: list(ctx.candidate_keys),
        "text": lambda: ("A freshly written text. " * 20)[: max(config.min_length, 23)],
        "spans": lambda: [],
        "claims": lambda: [{"claim": "A claim.", "verdict": config.verdicts[-1]}],
        "code_run": lambda: {"verdict": config.verdicts[0], "run_id": None},
    }
    return samples[spec.kind]()


@pytest.mark.parametrize("preset", PRESETS, ids=by_name)
def test_a_complete_submission_validates(preset: Preset) -> None:
    specs, _ = preset.checked()
    count = max(preset.min_candidates, 1)
    keys = tuple("ABCDEFGH"[:count])
    ctx = ItemContext(keys, {"prompt": "A prompt.", **{k: f"Answer {k}." for k in keys}})
    answers = []
    for spec in specs:
        for cand in keys if spec.per_candidate else ("",):
            answer = {"question": spec.key, "value": _sample_value(spec, ctx)}
            if cand:
                answer["candidate"] = cand
            answer["explanation"] = "Because it is the best choice here."
            answers.append(answer)
    assert len(validate_answers(specs, answers, ctx)) == len(answers)


def test_get_preset_unknown_raises_not_found_listing_names() -> None:
    with pytest.raises(NotFound) as err:
        get_preset("nope")
    assert "no preset 'nope'" in err.value.message
    assert "ab_comparison" in err.value.message and "red_teaming" in err.value.message


def test_get_preset_returns_independent_copies() -> None:
    first = get_preset("ab_comparison")
    first.questions.clear()
    assert get_preset("ab_comparison").questions


def test_load_preset_file_reports_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        load_preset_file(broken)
    renamed = tmp_path / "renamed.toml"
    renamed.write_text('name = "other"\n')
    with pytest.raises(InvalidInput) as err:
        load_preset_file(renamed)
    assert err.value.rows[0].field == "name"
    bad = tmp_path / "bad.toml"
    source = (DOCS.parent / "src/judgeloop/presets/ranking.toml").read_text()
    source = source.replace('name = "ranking"', 'name = "bad"')
    bad.write_text(source.replace("min_candidates = 2", "min_candidates = -1"))
    with pytest.raises(InvalidInput) as err:
        load_preset_file(bad)
    assert [row.field for row in err.value.rows] == ["min_candidates"]


def test_templates_doc_has_a_section_per_preset() -> None:
    sections = (DOCS / "templates.md").read_text().split("\n## ")
    for preset in PRESETS:
        found = [s for s in sections if s.startswith(f"{preset.title} (`{preset.name}`)")]
        assert len(found) == 1, preset.name
        for question in preset.questions:
            assert f"| `{question['key']}` | {question['kind']} |" in found[0], question["key"]
        for dim in preset.rubric:
            assert f"[`{dim['key']}`]" in found[0], dim["key"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"settings": {"hide_everything": True}}, "unknown settings"),
        ({"task_type": "vibes"}, "unknown task_type"),
        ({"min_candidates": 3, "max_candidates": 2}, "less than min_candidates"),
        (
            {"questions": [{"key": "x", "kind": "rating", "title": "X", "config": {"max": 0}}]},
            "max",
        ),
        ({"name": "Bad Name"}, "name"),
    ],
)
def test_preset_model_rejects_inconsistent_templates(change: dict[str, Any], message: str) -> None:
    data = get_preset("ranking").model_dump() | change
    with pytest.raises(ValueError, match=message):
        Preset.model_validate(data)


def test_settings_are_known_and_documented() -> None:
    text = (DOCS / "templates.md").read_text()
    for key in SETTINGS:
        assert f"`{key}`" in text
    assert get_preset("ab_comparison").settings["require_explanation"] is True

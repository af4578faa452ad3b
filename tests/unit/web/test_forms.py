"""web.forms: the task page's form fields -> SubmissionCreate, kind by kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from judgeloop.questions.base import ItemContext, QuestionSpec, validate_answers
from judgeloop.web.forms import FormValues, parse_submission

KEY = "k" * 32
CANDS = ("A", "B", "C")


def spec(kind: str, key: str = "q", **kw: Any) -> QuestionSpec:
    return QuestionSpec.model_validate({"key": key, "kind": kind, "title": "Q?", **kw})


RATING = spec("rating", config={"min": 1, "max": 5})
CHOICE = spec(
    "choice", config={"options": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}]}
)
MULTI = spec(
    "choice",
    config={
        "multiple": True,
        "min_selected": 0,
        "options": [{"value": v, "label": v.upper()} for v in ("x", "y", "z")],
    },
)
PREFERENCE = spec("preference")
RANKING = spec("ranking")
TEXT = spec("text")
SPANS = spec("spans", config={"labels": [{"value": "err", "label": "Error"}], "targets": ["A"]})
CLAIMS = spec("claims")
CODE = spec("code_run", per_candidate=True)


def parse(questions: list[QuestionSpec], fields: dict[str, Any], **kw: Any) -> Any:
    data = {"submission_key": KEY, "seconds_spent": "12.5", **fields}
    return parse_submission(
        FormValues.from_mapping(data),
        questions=questions,
        candidate_keys=kw.pop("cands", CANDS),
        item_id=7,
        assignment_id=3,
        **kw,
    )


def answers(parsed: Any) -> dict[tuple[str, str], Any]:
    assert parsed.errors == []
    return {(a.question, a.candidate): a.value for a in parsed.data.answers}


def fields_of(parsed: Any) -> list[str]:
    return [row.field for row in parsed.errors]


def test_submission_fields_are_read() -> None:
    parsed = parse([RATING], {"a.q": "4", "explanation": "  because  "})
    data = parsed.data
    assert (data.item_id, data.assignment_id, data.submission_key) == (7, 3, KEY)
    assert data.seconds_spent == 12.5
    assert data.explanation == "because"


@pytest.mark.parametrize(
    ("raw", "seconds"), [("abc", 0.0), ("-5", 0.0), ("nan", 0.0), ("1e12", 604800.0), ("", 0.0)]
)
def test_seconds_spent_is_clamped(raw: str, seconds: float) -> None:
    assert parse([RATING], {"a.q": "1", "seconds_spent": raw}).data.seconds_spent == seconds


def test_a_damaged_submission_key_is_reported() -> None:
    parsed = parse([RATING], {"a.q": "1", "submission_key": "<bad>"})
    assert fields_of(parsed) == ["submission_key"]


def test_required_explanation_of_the_project() -> None:
    assert fields_of(parse([RATING], {"a.q": "1"}, require_explanation=True)) == ["explanation"]
    assert parse([RATING], {"a.q": "1", "explanation": "x"}, require_explanation=True).errors == []


def test_rating_score_and_explanation() -> None:
    question = spec("rating", explanation="optional", per_candidate=True)
    parsed = parse([question], {"a.q.A": "5", "a.q.B": " 2 ", "e.q.A": " fine "})
    assert answers(parsed) == {("q", "A"): 5, ("q", "B"): 2}
    assert [a.explanation for a in parsed.data.answers] == ["fine", ""]


def test_rating_left_alone_is_left_out_and_junk_goes_to_validation() -> None:
    assert answers(parse([RATING], {"a.q": ""})) == {}
    assert answers(parse([RATING], {"a.q": "4.5"})) == {("q", ""): "4.5"}


def test_choice_single_and_multiple() -> None:
    assert answers(parse([CHOICE], {"a.q": "y"})) == {("q", ""): "y"}
    assert answers(parse([CHOICE], {})) == {}
    assert answers(parse([MULTI], {"a.q": ["z", "x"]})) == {("q", ""): ["z", "x"]}


def test_multiple_choice_with_nothing_chosen() -> None:
    assert answers(parse([MULTI], {})) == {("q", ""): []}  # required, zero allowed
    optional = spec("choice", required=False, config=MULTI.config)
    assert answers(parse([optional], {})) == {}


def test_preference_winner_strength_and_tie() -> None:
    got = answers(parse([PREFERENCE], {"a.q.winner": "B", "a.q.strength": "2"}))
    assert got == {("q", ""): {"winner": "B", "strength": 2}}
    tie = answers(parse([PREFERENCE], {"a.q.winner": "tie", "a.q.strength": "3"}))
    assert tie == {("q", ""): {"winner": "tie", "strength": None}}  # a tie has no strength
    assert answers(parse([PREFERENCE], {})) == {}
    no_strength = answers(parse([PREFERENCE], {"a.q.winner": "A"}))
    assert no_strength == {("q", ""): {"winner": "A", "strength": None}}


def test_ranking_from_the_order_field() -> None:
    assert answers(parse([RANKING], {"a.q.order": "C, A,B"})) == {("q", ""): ["C", "A", "B"]}
    ties = spec("ranking", config={"allow_ties": True})
    got = answers(parse([ties], {"a.q.order": "C,A=B"}))
    assert got == {("q", ""): [["C"], ["A", "B"]]}


def test_ranking_from_place_numbers_without_javascript() -> None:
    got = answers(parse([RANKING], {"a.q.rank.A": "2", "a.q.rank.B": "3", "a.q.rank.C": "1"}))
    assert got == {("q", ""): ["C", "A", "B"]}
    assert answers(parse([RANKING], {})) == {}
    partial = parse([RANKING], {"a.q.rank.A": "1"})
    assert fields_of(partial) == ["answers.q.value"]
    assert "B, C has none" in partial.errors[0].reason
    shared = parse([RANKING], {"a.q.rank.A": "1", "a.q.rank.B": "1", "a.q.rank.C": "2"})
    assert "share a place" in shared.errors[0].reason
    assert partial.failed == {"answers.q"}


def test_ranking_ties_from_place_numbers() -> None:
    ties = spec("ranking", config={"allow_ties": True})
    got = answers(parse([ties], {"a.q.rank.A": "1", "a.q.rank.B": "1", "a.q.rank.C": "2"}))
    assert got == {("q", ""): [["A", "B"], ["C"]]}


def test_text_kept_as_typed_blank_left_out() -> None:
    assert answers(parse([TEXT], {"a.q": "  Hello\r\nworld "})) == {("q", ""): "  Hello\r\nworld "}
    assert answers(parse([TEXT], {"a.q": "   "})) == {}


def test_spans_from_json() -> None:
    raw = json.dumps([{"target": "A", "start": "0", "end": 3, "label": "err", "junk": 1}])
    assert answers(parse([SPANS], {"a.q.spans": raw})) == {
        ("q", ""): [{"target": "A", "start": 0, "end": 3, "label": "err"}]
    }
    assert answers(parse([SPANS], {"a.q.spans": ""})) == {("q", ""): []}  # nothing to mark
    assert answers(parse([SPANS], {})) == {}


@pytest.mark.parametrize("raw", ["{", '{"a": 1}', "[1]"])
def test_spans_that_cannot_be_read(raw: str) -> None:
    parsed = parse([SPANS], {"a.q.spans": raw})
    assert fields_of(parsed)[0].startswith("answers.q.value")
    assert parsed.data.answers == []


def test_claims_from_json_empty_rows_dropped() -> None:
    claim = {"claim": "Paris", "verdict": "supported", "source": "https://x.org", "note": ""}
    raw = json.dumps([claim, {"claim": "", "verdict": "", "source": "", "note": ""}])
    got = answers(parse([CLAIMS], {"a.q.claims": raw}))
    assert got == {
        ("q", ""): [{"claim": "Paris", "verdict": "supported", "source": "https://x.org"}]
    }
    assert answers(parse([CLAIMS], {"a.q.claims": "[]"})) == {("q", ""): []}  # required
    optional = spec("claims", required=False)
    assert answers(parse([optional], {"a.q.claims": "[]"})) == {}


def test_code_run_verdict_per_candidate() -> None:
    got = answers(parse([CODE], {"a.q.A.verdict": "correct", "a.q.B.verdict": ""}))
    assert got == {("q", "A"): {"verdict": "correct"}}


def test_an_explanation_too_long_is_reported_by_its_field() -> None:
    parsed = parse([RATING], {"a.q": "3", "e.q": "x" * 20_001})
    assert fields_of(parsed) == ["answers.q.explanation"]


def test_parsed_answers_pass_validation_for_every_kind() -> None:
    questions = [RATING, CHOICE, PREFERENCE, RANKING, TEXT, SPANS, CLAIMS, CODE]
    questions = [q.model_copy(update={"key": f"q{i}"}) for i, q in enumerate(questions)]
    claim = [{"claim": "Sky", "verdict": "supported", "source": "https://x.org", "note": ""}]
    fields = {
        "a.q0": "3",
        "a.q1": "x",
        "a.q2.winner": "A",
        "a.q2.strength": "1",
        "a.q3.order": "B,C,A",
        "a.q4": "Some text",
        "a.q5.spans": json.dumps([{"target": "A", "start": 0, "end": 3, "label": "err"}]),
        "a.q6.claims": json.dumps(claim),
        **{f"a.q7.{c}.verdict": "correct" for c in CANDS},
    }
    parsed = parse(questions, fields)
    assert parsed.errors == []
    ctx = ItemContext(candidate_keys=CANDS, texts={"A": "The sky", "B": "b", "C": "c"})
    stored = validate_answers(questions, [a.model_dump() for a in parsed.data.answers], ctx)
    assert len(stored) == 10

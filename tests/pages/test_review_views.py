"""How the reviewer's page describes each kind of stored answer (pure, no database)."""

from __future__ import annotations

from typing import Any

from judgeloop.questions.base import QuestionSpec
from judgeloop.store.models import Candidate, Item, Judgment
from judgeloop.web.pages.review_views import answer_view, answered_questions
from judgeloop.web.pages.work_views import ItemView, build_item_view


def _item(shuffle_seed: int | None = None) -> ItemView:
    item = Item(id=1, project_id=1, prompt="Prompt", content_hash="h")
    cands = [
        (Candidate(item_id=1, key=key, position=i, text=f"text {key}"), f"model-{key}")
        for i, key in enumerate(("A", "B", "C"))
    ]
    return build_item_view(item, cands, show_models=False, shuffle_seed=shuffle_seed)


def _spec(kind: str, **config: Any) -> QuestionSpec:
    return QuestionSpec(key="q", kind=kind, title="Q", config=config)


def _view(kind: str, value: Any, candidate: str = "", **config: Any) -> Any:
    judgment = Judgment(question_key="q", kind=kind, value=value, candidate_key=candidate)
    judgment.explanation = "why"
    return answer_view(_spec(kind, **config), judgment, _item())


def test_rating_shows_the_score_and_its_level() -> None:
    view = _view("rating", 4, "B", min=1, max=5, levels={"4": "Good.", "5": "Great."})
    assert (view.summary, view.detail, view.candidate, view.explanation) == (
        "4 of 5",
        "Good.",
        "Answer B",
        "why",
    )


def test_choice_shows_labels_and_descriptions() -> None:
    options = [
        {"value": "math", "label": "Mathematics", "description": "Numbers."},
        {"value": "art", "label": "Art"},
    ]
    assert _view("choice", "math", options=options).summary == "Mathematics"
    assert _view("choice", "math", options=options).detail == "Numbers."
    assert _view("choice", ["math", "art"], options=options, multiple=True).summary == (
        "Mathematics, Art"
    )


def test_preference_names_the_answer_as_shown_and_the_strength() -> None:
    view = _view("preference", {"winner": "C", "strength": 1})
    assert (view.summary, view.detail) == ("Answer C is better", "slightly better")
    assert _view("preference", {"winner": "tie", "strength": None}).summary.startswith("Tie")


def test_candidates_are_named_as_the_worker_saw_them() -> None:
    shown = _item(shuffle_seed=7)
    first_key = shown.candidates[0].key
    judgment = Judgment(question_key="q", kind="preference", value={"winner": first_key})
    judgment.candidate_key, judgment.explanation = "", ""
    view = answer_view(_spec("preference"), judgment, shown)
    assert view.summary == "Answer A is better"


def test_ranking_spans_claims_text_code_run_and_unknown_kinds() -> None:
    ranking = _view("ranking", [["B"], ["A", "C"]])
    assert ranking.summary == "1. Answer B  2. Answer A = Answer C"
    spans = _view(
        "spans", [{"target": "A", "start": 0, "end": 4, "label": "Error", "text": "text"}]
    )
    assert (spans.summary, spans.columns, spans.rows) == (
        "1 span",
        ("Label", "In", "Text"),
        [("Error", "Answer A", "text")],
    )
    claims = _view(
        "claims",
        [{"claim": "Sky is blue", "verdict": "supported", "source": "https://x.org", "note": ""}],
    )
    assert claims.rows == [("Sky is blue", "supported", "https://x.org", "")]
    assert _view("text", "A rewrite.\nTwo lines.").text == "A rewrite.\nTwo lines."
    assert _view("code_run", {"verdict": "passes", "run_id": None}).summary == "passes"
    odd = _view("rating", {"unexpected": True}, max=5)
    assert odd.summary.startswith("{'unexpected'") or "unexpected" in odd.text


def test_answered_questions_keep_question_order_and_list_unanswered() -> None:
    specs = [_spec("rating", min=1, max=3, levels={"1": "Bad", "2": "Ok", "3": "Good"})]
    specs.append(QuestionSpec(key="why", kind="text", title="Why?"))
    judgments = [
        Judgment(question_key="q", kind="rating", value=2, candidate_key="B", explanation=""),
        Judgment(question_key="q", kind="rating", value=3, candidate_key="A", explanation=""),
        Judgment(question_key="gone", kind="text", value="old", candidate_key="", explanation=""),
    ]
    out = answered_questions(specs, judgments, _item())
    assert [q.key for q in out] == ["q", "why", "gone"]
    assert [a.candidate for a in out[0].answers] == ["Answer A", "Answer B"]
    assert out[0].levels == [(1, "Bad"), (2, "Ok"), (3, "Good")]
    assert out[1].answers == []
    assert out[2].answers[0].text == "old"

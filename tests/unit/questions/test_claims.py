"""claims: claim-level verdicts with sources."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from judgeloop.errors import InvalidInput
from judgeloop.questions.base import (
    AnswerError,
    ItemContext,
    check_questions,
    get_kind,
    validate_answers,
)
from judgeloop.questions.claims import ClaimsConfig, check_url

ANSWER = "The Eiffel Tower was completed in 1889 and is 450 m tall."
CTX = ItemContext(("A",), {"prompt": "Tell me about the Eiffel Tower.", "A": ANSWER})
SOURCE = "https://www.toureiffel.paris/en/the-monument/key-figures"


def check(value: Any, ctx: ItemContext = CTX, **config: Any) -> Any:
    return get_kind("claims").validate_answer(ClaimsConfig(**config), value, ctx)


def error(value: Any, ctx: ItemContext = CTX, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, ctx, **config)
    return err.value


def claim(**fields: Any) -> dict[str, Any]:
    return {"claim": "It is 450 m tall.", "verdict": "refuted", "source": SOURCE, **fields}


def test_good_claims_are_normalized() -> None:
    result = check(
        [
            claim(start=43, end=57, note=" 330 m "),
            {"claim": " Completed in 1889 ", "verdict": "not_enough_info"},
        ]
    )
    assert result == [
        {
            "claim": "It is 450 m tall.",
            "verdict": "refuted",
            "source": SOURCE,
            "note": "330 m",
            "start": 43,
            "end": 57,
        },
        {
            "claim": "Completed in 1889",
            "verdict": "not_enough_info",
            "source": "",
            "note": "",
            "start": None,
            "end": None,
        },
    ]


@pytest.mark.parametrize(
    ("claims", "field", "reason"),
    [
        ([], "", "list at least one claim"),
        ("It is tall", "", "expected a list of claims"),
        ([claim(), "x"], "1", "claim 1: expected"),
        ([claim(claim="  ")], "0.claim", "the claim is empty"),
        ([claim(claim="x" * 2001)], "0.claim", "2001 characters long; at most 2000"),
        ([claim(claim="a\x00b")], "0.claim", "NUL"),
        ([claim(verdict="false")], "0.verdict", "unknown verdict 'false' (allowed: supported,"),
        ([claim(source="")], "0.source", "a source URL is required for 'refuted'"),
        ([claim(), claim(source=None, verdict="supported")], "1.source", "required"),
        ([claim(note=5)], "0.note", "expected text"),
        ([claim(start=43)], "0.end", "give both start and end, or neither"),
        ([claim(end=57)], "0.start", "give both start and end, or neither"),
        ([claim(start=43, end=99)], "0.end", "end 99 is beyond the text's 57 characters"),
        ([claim(start=50, end=43)], "0.end", "must be after start 50"),
        ([claim(start="43", end=57)], "0.start", "whole-number offset"),
        ([claim(url=SOURCE)], "0.url", "unknown field 'url'"),
    ],
)
def test_bad_claims(claims: Any, field: str, reason: str) -> None:
    err = error(claims)
    assert err.field == field
    assert reason in err.reason


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "//example.com/path",
        "/relative/path",
        "example.com",
        "https://",
        "https:///path",
        "https:\\\\evil.example",
        'https://example.com/" onmouseover="alert(1)',
        "https://example.com/<script>",
        "https://exa mple.com",
        "https://example.com\n/x",
        "https://example.com:99999/",
        "https://" + "a" * 2000 + ".com",
    ],
)
def test_unsafe_or_invalid_sources_rejected(url: str) -> None:
    err = error([claim(source=url)])
    assert err.field == "0.source"


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Eiffel_Tower",
        "http://example.com",
        "HTTPS://EXAMPLE.COM/a?b=c&d=e#f",
        "https://en.wikipedia.org/wiki/Hitchhiker's_Guide",
        "https://例え.jp/パス",
        "https://user@example.com:8443/x",
    ],
)
def test_http_sources_accepted(url: str) -> None:
    assert check([claim(source=url)])[0]["source"] == url


def test_source_optional_for_other_verdicts() -> None:
    result = check([claim(source="", verdict="not_enough_info")])
    assert result[0]["source"] == ""


def test_max_claims_and_target() -> None:
    assert "at most 2 claims; got 3" in error([claim()] * 3, max_claims=2).reason
    err = error([claim(start=0, end=3)], target="B")
    assert (err.field, err.reason) == (
        "0.start",
        "claim 0: this item has no text 'B' to point into",
    )


@pytest.mark.parametrize(
    "config",
    [
        {"verdicts": []},
        {"verdicts": ["yes", "yes"]},
        {"verdicts": ["yes", ""]},
        {"require_source_for": ["maybe"]},
        {"max_claims": 0},
        {"target": ""},
    ],
)
def test_bad_configs(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ClaimsConfig(**config)


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"[a-z0-9]{1,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    st.from_regex(r"(/[A-Za-z0-9_.~%-]{0,20}){0,4}", fullmatch=True),
)
def test_any_plain_http_url_accepted(scheme: str, host: str, path: str) -> None:
    assert check_url(f"{scheme}://{host}{path}") is None


@given(
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9+.-]{0,10}", fullmatch=True).filter(
        lambda s: s.lower() not in ("http", "https")
    ),
    st.text(max_size=40),
)
def test_any_other_scheme_rejected(scheme: str, rest: str) -> None:
    assert check_url(f"{scheme}:{rest}") is not None


@given(st.text(max_size=60))
def test_check_url_never_crashes(url: str) -> None:
    reason = check_url(url)
    assert reason is None or isinstance(reason, str)


def test_full_error_path() -> None:
    specs, _ = check_questions([{"key": "claims", "kind": "claims", "title": "Check claims"}])
    answers = [{"question": "claims", "value": [claim(source="javascript:alert(1)")]}]
    with pytest.raises(InvalidInput) as err:
        validate_answers(specs, answers, CTX)
    assert [row.field for row in err.value.rows] == ["answers.claims.value.0.source"]

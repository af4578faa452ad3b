"""Generate the reference pages that must never drift: docs/cli.md and docs/settings.md.

`python scripts/gen_docs.py` rewrites them; `python scripts/gen_docs.py --check` fails
when they are stale (tests/test_docs.py runs the check).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def settings_markdown() -> str:
    """The settings reference, from the descriptions on Settings' fields."""
    from judgeloop.config import Settings

    lines = [
        "# Settings",
        "",
        "Every setting is read from an environment variable `JUDGELOOP_<NAME>` (or a `.env`",
        "file). Generated from `judgeloop.config.Settings` by `scripts/gen_docs.py`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else f"`{info.default}`"
        lines.append(f"| `JUDGELOOP_{name.upper()}` | {default} | {info.description} |")
    return "\n".join(lines) + "\n"


def cli_markdown() -> str:
    """The CLI reference, from Typer's own documentation generator."""
    typer_bin = Path(sys.executable).with_name("typer")
    out = subprocess.run(
        [
            str(typer_bin),
            "judgeloop.cli",
            "utils",
            "docs",
            "--name",
            "judgeloop",
            "--title",
            "CLI reference",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout.rstrip() + "\n"


PAGES = {"docs/settings.md": settings_markdown, "docs/cli.md": cli_markdown}


def main(check: bool) -> int:
    """Write (or, with check, compare) every generated page; return the exit status."""
    stale = []
    for rel, build in PAGES.items():
        path = ROOT / rel
        text = build()
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(rel)
        else:
            path.write_text(text)
    if stale:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))

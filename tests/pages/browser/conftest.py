"""The `browser` fixture: one Debian Chromium per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.pages.browser.live import chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (skips when either is missing)."""
    with chromium() as launched:
        yield launched

"""The pay pages' forms as typed, their checks, and how money and daily bars are shown.

Pure functions, no database: each ``*_problems`` function turns a posted form into the
values a service takes, or returns a message per wrong field (the page shows each next to
its field and keeps what was typed). The services check again; these checks only say it
in the words of the form.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from judgeloop.store.models import PayoutStatement, PayTerms
from judgeloop.store.models.ledger import PAY_MODES

DAILY_DAYS = 7
BAR_STEPS = 20
"""Bars are drawn in 5% steps by CSS classes ``bar-w0`` ... ``bar-w20`` (no inline styles)."""
MAX_AMOUNT = Decimal(1_000_000_000)
MAX_CAP_MINUTES = 1440
MODE_LABELS = {
    "per_task": "Per task: every submission earns the rate, payable at once",
    "per_accepted": "Per accepted submission: pending until a reviewer accepts it",
    "hourly": "Hourly: active time on the task page, up to the cap per task",
}
ENTRY_KINDS = {
    "bonus": "Bonus (added to approved pay)",
    "adjustment": "Adjustment (a correction up or down; negative takes money back)",
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")


class TermsForm(BaseModel):
    """The pay-terms form, as typed."""

    mode: str = ""
    rate: str = ""
    currency: str = "USD"
    hourly_cap_minutes: str = ""


class EntryForm(BaseModel):
    """The bonus/adjustment form, as typed; the key makes a double-click pay once."""

    kind: str = "bonus"
    worker_email: str = ""
    amount: str = ""
    reason: str = ""
    idempotency_key: str = ""


class PeriodForm(BaseModel):
    """The new-statements form: the first and the last day (UTC, inclusive)."""

    period_start: str = ""
    period_end: str = ""


class PaidForm(BaseModel):
    """The mark-paid form of one statement."""

    reference: str = ""


def money(amount: Decimal | None) -> str:
    """Show an amount with two decimals, or more when it has more (never rounded)."""
    if amount is None:
        return "—"
    cents = amount.quantize(Decimal("0.01"))
    if cents == amount:
        return f"{cents:,.2f}"
    return f"{amount.normalize():,f}"


def parse_amount(text: str) -> tuple[Decimal | None, str]:
    """Read an exact amount such as ``0.40`` or ``-2``; return it, or why it is wrong."""
    text = text.strip()
    if not text:
        return None, "Enter an amount, such as 0.40."
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "Enter a number with a dot for decimals, such as 0.40."
    if not value.is_finite():
        return None, "Enter a number with a dot for decimals, such as 0.40."
    if value != value.quantize(Decimal("0.000001")):
        return None, "Use at most 6 decimal places."
    if abs(value) > MAX_AMOUNT:
        return None, "Enter an amount under one billion."
    return value, ""


def terms_form_of(terms: PayTerms | None) -> TermsForm:
    """The terms form filled in with the current terms (empty when the project pays nothing)."""
    if terms is None:
        return TermsForm()
    cap = terms.hourly_cap_seconds_per_task
    minutes = (
        "" if cap is None else f"{(Decimal(cap) / 60).quantize(Decimal('0.01')).normalize():f}"
    )
    return TermsForm(
        mode=terms.mode,
        rate=money(terms.rate).replace(",", ""),
        currency=terms.currency,
        hourly_cap_minutes=minutes,
    )


def _cap_seconds(text: str) -> tuple[int | None, str]:
    text = text.strip()
    if not text:
        return None, ""
    wrong = f"Enter minutes from 1 to {MAX_CAP_MINUTES}, or leave it empty for no cap."
    try:
        minutes = Decimal(text)
    except InvalidOperation:
        return None, wrong
    if not minutes.is_finite() or not 0 < minutes <= MAX_CAP_MINUTES:
        return None, wrong
    return max(1, round(minutes * 60)), ""


def terms_problems(form: TermsForm) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the terms form.

    Returns:
        The keyword arguments for ``set_pay_terms`` (mode, rate, currency, cap), and a
        message per wrong field (empty when all is well). The cap counts only in hourly
        mode.
    """
    errors: dict[str, str] = {}
    if form.mode not in PAY_MODES:
        errors["mode"] = "Choose how the project pays."
    rate, problem = parse_amount(form.rate)
    if problem:
        errors["rate"] = problem
    elif rate is not None and rate < 0:
        errors["rate"] = "The rate may not be negative."
    currency = form.currency.strip().upper()
    if not _CURRENCY.match(currency):
        errors["currency"] = "Enter a three-letter currency code, such as USD or EUR."
    cap, problem = _cap_seconds(form.hourly_cap_minutes) if form.mode == "hourly" else (None, "")
    if problem:
        errors["hourly_cap_minutes"] = problem
    values = {"mode": form.mode, "rate": rate, "currency": currency, "hourly_cap_seconds": cap}
    return values, errors


def entry_problems(form: EntryForm, is_member: bool) -> tuple[Decimal | None, dict[str, str]]:
    """Check the bonus/adjustment form; return the amount and a message per wrong field."""
    errors: dict[str, str] = {}
    if form.kind not in ENTRY_KINDS:
        errors["kind"] = "Choose a bonus or an adjustment."
    if not form.worker_email.strip():
        errors["worker_email"] = "Enter the email of a member of this project."
    elif not is_member:
        errors["worker_email"] = "No member of this project has this email."
    amount, problem = parse_amount(form.amount)
    if problem:
        errors["amount"] = problem
    elif amount is not None and form.kind == "bonus" and amount <= 0:
        errors["amount"] = "A bonus must be more than zero; use an adjustment to take back."
    elif amount is not None and amount == 0:
        errors["amount"] = "An adjustment may not be zero."
    if not form.reason.strip():
        errors["reason"] = "Say why: the worker reads this reason."
    elif len(form.reason) > 2000:
        errors["reason"] = "The reason may have at most 2,000 characters."
    return amount, errors


def entry_key(form: EntryForm) -> str | None:
    """The form's idempotency key when it looks like one the page made (else None: a new key)."""
    return form.idempotency_key if _KEY.match(form.idempotency_key) else None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def period_problems(form: PeriodForm) -> tuple[tuple[datetime, datetime] | None, dict[str, str]]:
    """Check the statement period; return its start and (exclusive) end in UTC, or errors.

    The form's last day is inclusive: the period ends at midnight UTC after it.
    """
    errors: dict[str, str] = {}
    start, end = _day(form.period_start), _day(form.period_end)
    if start is None:
        errors["period_start"] = "Enter the first day as a date, such as 2026-11-01."
    if end is None:
        errors["period_end"] = "Enter the last day as a date, such as 2026-11-30."
    if start is not None and end is not None and end < start:
        errors["period_end"] = "The last day may not come before the first day."
    if errors or start is None or end is None:
        return None, errors
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    return (first, last), {}


def period_label(statement: PayoutStatement) -> str:
    """A statement's period as the owner typed it: first and last day (end is exclusive)."""
    start, end = statement.period_start, statement.period_end
    if (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0):
        last = (end - timedelta(days=1)).date()
        return f"{start:%Y-%m-%d} – {last:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def daily_bars(daily: list[tuple[str, int]], today: date, days: int) -> list[dict[str, Any]]:
    """The last `days` days, oldest first, with counts and a bar width step (0 to 20).

    Args:
        daily: (ISO date, accepted judgments) for the days that had any.
        today: The last day shown.
        days: How many days to show.

    Returns:
        One dict per day: ``day`` (ISO), ``label`` (e.g. ``Mon 03``), ``count``, ``step``.
    """
    counts = dict(daily)
    shown = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    peak = max((counts.get(d.isoformat(), 0) for d in shown), default=0)
    out = []
    for day in shown:
        count = counts.get(day.isoformat(), 0)
        step = 0 if not peak else max(1 if count else 0, round(count / peak * BAR_STEPS))
        out.append(
            {"day": day.isoformat(), "label": day.strftime("%a %d"), "count": count, "step": step}
        )
    return out

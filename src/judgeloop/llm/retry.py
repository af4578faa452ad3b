"""When to retry a failed model call, and how long to wait first.

Rate limits (429), server errors (5xx, and 408/409), timeouts, dropped connections and
malformed response bodies are retried with exponential backoff and jitter; a
``Retry-After`` (or ``retry-after-ms``) header, when the server sends one, sets the wait
instead. Every other error (400, 401, 404, ...) fails at once: asking again cannot help.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried.

    Attributes:
        max_attempts: Calls in all, the first included (1 means no retry).
        base_delay: Seconds before the first retry; it doubles with each retry.
        max_delay: The longest wait, also for a server's Retry-After.
        jitter: Fraction of the backoff drawn at random (0: none, 1: anywhere from 0).
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        A server's Retry-After is respected as given (capped at `max_delay`); otherwise
        the wait is ``base_delay * 2**(attempt-1)``, capped, with its last `jitter`
        fraction drawn uniformly so that many clients do not retry in step.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff * (1.0 - self.jitter) + backoff * self.jitter * rng.random()


def is_retryable_status(status: int) -> bool:
    """Tell whether an HTTP status is worth retrying (429, 408, 409 and 5xx)."""
    return status in RETRY_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Return the wait a server asked for, in seconds, or None when it asked for none.

    Reads ``retry-after-ms`` (milliseconds, sent by OpenAI), then ``retry-after`` as
    seconds or as an HTTP date.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)

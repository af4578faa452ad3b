"""``client.submissions``: post judgments safely (idempotency keys) and read them back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from judgeloop.client._http import HttpCore, ProjectRef, build, project_path
from judgeloop.schemas.items import ItemRead
from judgeloop.schemas.submissions import (
    AnswerIn,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
)


def new_submission_key() -> str:
    """Return a fresh idempotency key (32 hex digits)."""
    return uuid.uuid4().hex


class Submissions:
    """Submissions: one worker's answers to one item."""

    def __init__(self, http: HttpCore) -> None:
        self._http = http

    def create(
        self,
        item: int | ItemRead,
        answers: Sequence[AnswerIn | Mapping[str, Any]],
        *,
        seconds_spent: float = 0.0,
        explanation: str = "",
        submission_key: str | None = None,
        assignment_id: int | None = None,
    ) -> SubmissionRead:
        """Submit answers to one item.

        The post carries an idempotency key (generated unless given). Connection errors
        and 5xx answers are retried with the same key, so the judgment is stored once
        even when a response is lost; ``created`` is False on the returned submission
        when the server had stored it already.

        Args:
            item: The item (or its id).
            answers: One ``{"question", "candidate", "value", "explanation"}`` per answer.
            seconds_spent: Time spent on the item.
            explanation: A written explanation of the whole judgment.
            submission_key: Idempotency key (8-64 of ``A-Za-z0-9_-``).
            assignment_id: The leased task this answers (from ``client.tasks.next``).

        Returns:
            The stored submission.
        """
        data = build(
            SubmissionCreate,
            item_id=item.id if isinstance(item, ItemRead) else item,
            assignment_id=assignment_id,
            submission_key=submission_key or new_submission_key(),
            answers=[a.model_dump() if isinstance(a, AnswerIn) else dict(a) for a in answers],
            seconds_spent=seconds_spent,
            explanation=explanation,
        )
        return self._http.send(
            "POST", "/submissions", SubmissionRead, json=data.model_dump(mode="json"), retry=True
        )

    def page(
        self,
        project: ProjectRef,
        *,
        after: int = 0,
        limit: int = 100,
        worker_id: int | None = None,
        item_id: int | None = None,
    ) -> SubmissionPage:
        """Return one page of a project's submissions (a worker gets only their own)."""
        params: dict[str, int] = {"after": after, "limit": limit}
        if worker_id is not None:
            params["worker_id"] = worker_id
        if item_id is not None:
            params["item_id"] = item_id
        path = project_path(project) + "/submissions"
        return self._http.get(path, SubmissionPage, params=params)

    def list(
        self,
        project: ProjectRef,
        *,
        worker_id: int | None = None,
        item_id: int | None = None,
        after: int = 0,
        page_size: int = 100,
    ) -> Iterator[SubmissionRead]:
        """Iterate over a project's submissions, fetching pages as needed.

        Yields:
            Each submission, in id order.
        """
        cursor: int | None = after
        while cursor is not None:
            page = self.page(
                project, after=cursor, limit=page_size, worker_id=worker_id, item_id=item_id
            )
            yield from page.submissions
            cursor = page.next_after

    def get(self, submission_id: int) -> SubmissionRead:
        """Return one submission with its answers."""
        return self._http.get(f"/submissions/{int(submission_id)}", SubmissionRead)

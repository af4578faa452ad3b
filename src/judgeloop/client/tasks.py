"""``client.tasks``: work through a project's queue (next task, heartbeat, skip, release)."""

from __future__ import annotations

from judgeloop.client._http import HttpCore, ProjectRef, project_path
from judgeloop.schemas.tasks import TaskRead


class Tasks:
    """The task queue, as a worker sees it."""

    def __init__(self, http: HttpCore) -> None:
        self._http = http

    def next(self, project: ProjectRef) -> TaskRead | None:
        """Lease the next task in `project`, or return None when none is left for you."""
        response = self._http.request("POST", project_path(project) + "/tasks/next")
        if response.status_code == 204:
            return None
        return TaskRead.model_validate(response.json())

    def heartbeat(self, assignment_id: int, active_seconds: float = 0.0) -> TaskRead:
        """Extend the task's lease, recording the active time spent so far."""
        return self._http.send(
            "POST",
            f"/assignments/{assignment_id}/heartbeat",
            TaskRead,
            json={"active_seconds": active_seconds},
        )

    def skip(self, assignment_id: int, reason: str) -> None:
        """Skip the task, saying why; it is not served to you again."""
        self._http.request("POST", f"/assignments/{assignment_id}/skip", json={"reason": reason})

    def release(self, assignment_id: int) -> None:
        """Give the task back without judging it."""
        self._http.request("POST", f"/assignments/{assignment_id}/release")

    def flag(self, item_id: int, reason: str, note: str = "") -> None:
        """Flag an item: broken_prompt, personal_data, harmful_content or other."""
        self._http.request("POST", f"/items/{item_id}/flags", json={"reason": reason, "note": note})

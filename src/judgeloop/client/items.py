"""``client.items``: a project's items, page by page or as one iterator."""

from __future__ import annotations

from collections.abc import Iterator

from judgeloop.client._http import HttpCore, ProjectRef, project_path
from judgeloop.schemas.items import ItemPage, ItemRead


class Items:
    """Items (prompts with their candidate answers)."""

    def __init__(self, http: HttpCore) -> None:
        self._http = http

    def page(self, project: ProjectRef, *, after: int = 0, limit: int = 100) -> ItemPage:
        """Return one page of items with ids above `after`."""
        params = {"after": after, "limit": limit}
        return self._http.get(project_path(project) + "/items", ItemPage, params=params)

    def list(
        self, project: ProjectRef, *, after: int = 0, page_size: int = 100
    ) -> Iterator[ItemRead]:
        """Iterate over all of a project's items, fetching pages as needed.

        Args:
            project: Project id, slug or ProjectRead.
            after: Start after this item id.
            page_size: Items per request (at most 1000).

        Yields:
            Each item, in id order.
        """
        cursor: int | None = after
        while cursor is not None:
            page = self.page(project, after=cursor, limit=page_size)
            yield from page.items
            cursor = page.next_after

    def get(self, item_id: int) -> ItemRead:
        """Return one item with its candidate answers."""
        return self._http.get(f"/items/{int(item_id)}", ItemRead)

"""``client.exports``: download a project's data as a file."""

from __future__ import annotations

from pathlib import Path

import httpx

from judgeloop.client._http import HttpCore, ProjectRef, error_from_response, project_path


class Exports:
    """Exports of items and submissions."""

    def __init__(self, http: HttpCore) -> None:
        self._http = http

    def download(
        self,
        project: ProjectRef,
        path: str | Path,
        *,
        what: str = "items",
        format: str | None = None,
        timeout: float | None = 600.0,
    ) -> Path:
        """Export a project and stream the file to `path`.

        Args:
            project: Project id, slug or ProjectRead.
            path: Where to write the file (replaced when the download is complete).
            what: ``items``, ``submissions`` or ``label-studio``.
            format: ``jsonl`` or ``parquet`` (default ``jsonl``); ``json`` for label-studio.
            timeout: Seconds to wait for the server (None: no limit).

        Returns:
            The path written.
        """
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        params = {"what": what}
        if format:
            params["format"] = format
        url = project_path(project) + "/export"
        with self._http.http.stream(
            "GET", url, params=params, timeout=httpx.Timeout(timeout)
        ) as response:
            if response.is_error:
                response.read()
                raise error_from_response(response)
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
        partial.replace(path)
        return path

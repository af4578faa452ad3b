"""``client.imports``: upload a data file into a project."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from judgeloop.client._http import HttpCore, ProjectRef, project_path
from judgeloop.schemas.submissions import ImportReport


class Imports:
    """Imports of items (and judgments) from files."""

    def __init__(self, http: HttpCore) -> None:
        self._http = http

    def upload(
        self,
        project: ProjectRef,
        path: str | Path,
        format: str | None = None,
        mapping: Mapping[str, Any] | None = None,
        skip_invalid: bool = False,
        *,
        timeout: float | None = 600.0,
    ) -> ImportReport:
        """Upload a JSONL, CSV, Parquet or JSON file and import it into the project.

        Args:
            project: Project id, slug or ProjectRead.
            path: The file; it is streamed, not read into memory.
            format: The file's format; by default the server tells it from the name.
            mapping: Which of the file's fields hold the prompt, the answers, ...
            skip_invalid: Import the valid rows and report the others, instead of
                rejecting the whole file.
            timeout: Seconds to wait for the server (None: no limit).

        Returns:
            What the import did.
        """
        path = Path(path)
        fields = {"skip_invalid": "true" if skip_invalid else "false"}
        if format:
            fields["format"] = format
        if mapping is not None:
            fields["mapping"] = json.dumps(dict(mapping))
        with path.open("rb") as handle:
            files = {"file": (path.name, handle, "application/octet-stream")}
            response = self._http.request(
                "POST",
                project_path(project) + "/imports",
                files=files,
                data=fields,
                timeout=httpx.Timeout(timeout),
            )
        return ImportReport.model_validate(response.json())

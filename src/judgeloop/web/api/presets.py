"""Task templates: ``/presets``."""

from __future__ import annotations

from fastapi import APIRouter

from judgeloop.presets import Preset, get_preset, list_presets
from judgeloop.web.deps import CurrentUser

router = APIRouter(tags=["presets"])


@router.get("/presets", response_model=list[Preset])
def list_presets_(_user: CurrentUser) -> list[Preset]:
    """List the task templates a project can start from."""
    return list_presets()


@router.get("/presets/{name}", response_model=Preset)
def get_preset_(name: str, _user: CurrentUser) -> Preset:
    """Return one task template: its questions, rubric and guidelines."""
    return get_preset(name)

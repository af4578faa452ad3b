"""Model versions that judgeloop can call: registration, lookup, lineage.

A registered model is a `ModelVersion` (name, provider, sampling parameters in
``params``, ``parent_id`` for lineage) with a `ModelEndpoint` saying how to reach it.
Model versions created by imports (answers from elsewhere) have no endpoint until one is
registered under the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.llm.config import EndpointConfig
from judgeloop.questions.base import pydantic_errors
from judgeloop.store.models import Event, ModelVersion
from judgeloop.store.models.llm import ModelEndpoint


@dataclass(frozen=True)
class RegisteredModel:
    """A model version and, when it has one, its endpoint."""

    version: ModelVersion
    endpoint: ModelEndpoint | None


def endpoint_config(version: ModelVersion, endpoint: ModelEndpoint) -> EndpointConfig:
    """Combine a model version's parameters with its endpoint into an EndpointConfig."""
    return EndpointConfig(
        kind=endpoint.kind,
        model=endpoint.model,
        base_url=endpoint.base_url,
        api_key_env=endpoint.api_key_env,
        local_path=endpoint.local_path,
        system_prompt=endpoint.system_prompt,
        params=dict(version.params or {}),
        timeout_s=endpoint.timeout_s,
    )


def register_model(
    session: Session,
    *,
    name: str,
    config: EndpointConfig | dict[str, Any],
    parent: str | None = None,
) -> RegisteredModel:
    """Register a model version that judgeloop can call.

    Args:
        session: The database session.
        name: The version's unique name, e.g. ``"llama3-8b-sft-v2"``.
        config: How to call it (an `EndpointConfig` or its fields as a dict).
        parent: The name of the version it was trained from (lineage).

    Returns:
        The version and its endpoint. A version that exists without an endpoint (one
        created by an import) gets this endpoint.

    Raises:
        InvalidInput: The config is invalid (each row names the field).
        Conflict: A version with this name already has an endpoint.
        NotFound: There is no version named `parent`.
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a model name needs 1 to 200 characters")
    if isinstance(config, dict):
        try:
            config = EndpointConfig.model_validate(config)
        except ValidationError as exc:
            raise InvalidInput("invalid model endpoint", pydantic_errors(exc)) from None
    parent_id = get_model(session, parent).version.id if parent else None
    version = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
    if version is None:
        version = ModelVersion(name=name)
        session.add(version)
    elif _endpoint_of(session, version.id) is not None:
        raise Conflict(f"model {name!r} is already registered")
    version.provider = config.kind
    version.params = dict(config.params)
    version.parent_id = parent_id if parent_id is not None else version.parent_id
    session.flush()
    endpoint = ModelEndpoint(
        model_version_id=version.id,
        kind=config.kind,
        base_url=config.base_url,
        model=config.model,
        system_prompt=config.system_prompt,
        api_key_env=config.api_key_env,
        local_path=config.local_path,
        timeout_s=config.timeout_s,
    )
    session.add(endpoint)
    session.add(
        Event(kind="model.registered", payload={"model_version_id": version.id, "name": name})
    )
    session.commit()
    return RegisteredModel(version, endpoint)


def _endpoint_of(session: Session, version_id: int) -> ModelEndpoint | None:
    return session.scalar(select(ModelEndpoint).where(ModelEndpoint.model_version_id == version_id))


def get_model(session: Session, name: str) -> RegisteredModel:
    """Return the model version called `name` (or with this id) and its endpoint, if any.

    Raises:
        NotFound: No such model version.
    """
    query = select(ModelVersion).where(ModelVersion.name == name)
    version = session.scalar(query)
    if version is None and name.isdigit():
        version = session.get(ModelVersion, int(name))
    if version is None:
        raise NotFound(f"no model {name!r} (see `judgeloop models list`)")
    return RegisteredModel(version, _endpoint_of(session, version.id))


def callable_model(session: Session, name: str) -> tuple[ModelVersion, EndpointConfig]:
    """Return a model version with an endpoint, and its config.

    Raises:
        NotFound: No such model version.
        InvalidInput: The version has no endpoint (it only holds imported answers).
    """
    found = get_model(session, name)
    if found.endpoint is None:
        raise InvalidInput(
            f"model {name!r} has no endpoint; register one with `judgeloop models add`"
        )
    return found.version, endpoint_config(found.version, found.endpoint)


def list_models(session: Session) -> list[RegisteredModel]:
    """Return every model version, oldest first, each with its endpoint (or None)."""
    rows = session.execute(
        select(ModelVersion, ModelEndpoint)
        .outerjoin(ModelEndpoint, ModelEndpoint.model_version_id == ModelVersion.id)
        .order_by(ModelVersion.id)
    )
    return [RegisteredModel(version, endpoint) for version, endpoint in rows]


def model_lineage(session: Session, name: str) -> list[ModelVersion]:
    """Return the version called `name` followed by its parent, grandparent, and so on."""
    version: ModelVersion | None = get_model(session, name).version
    chain: list[ModelVersion] = []
    seen: set[int] = set()
    while version is not None and version.id not in seen:
        chain.append(version)
        seen.add(version.id)
        version = session.get(ModelVersion, version.parent_id) if version.parent_id else None
    return chain

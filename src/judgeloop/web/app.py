"""The FastAPI application: ``create_app(settings)`` builds it, with no module globals."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from judgeloop import __version__
from judgeloop.config import Settings
from judgeloop.store.engine import is_sqlite, make_engine, make_sessionmaker
from judgeloop.web.api import router as api_router
from judgeloop.web.errors import install_error_handlers
from judgeloop.web.gate import ConcurrencyGate

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"
SQLITE_CONCURRENCY = 4
SERVER_DB_CONCURRENCY = 16


def create_app(settings: Settings, session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the judgeloop web application.

    Args:
        settings: Application settings, kept on ``app.state.settings``.
        session_factory: Where request sessions come from. When None, an engine is built
            from ``settings.resolved_database_url()`` (no migrations are run here:
            ``judgeloop serve`` runs them) and disposed when the app shuts down.

    Returns:
        The application: the JSON API under ``/api/v1``, ``/healthz``, the HTML pages
        (``judgeloop.web.pages.router``) and ``/static``.
    """
    engine: Engine | None = None
    if session_factory is None:
        engine = make_engine(settings.resolved_database_url())
        session_factory = make_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if engine is not None:
            engine.dispose()

    app = FastAPI(
        title="judgeloop",
        version=__version__,
        description="Human feedback on AI model answers. JSON API; see docs/api.md.",
        openapi_url="/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.engine = engine
    install_error_handlers(app)
    app.include_router(api_router, prefix=API_PREFIX)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["meta"])
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_pages(app)
    # Added last, so it is the outermost layer: a waiting request has not started anything.
    app.add_middleware(ConcurrencyGate, limit=_concurrency_limit(settings, session_factory))
    return app


def create_app_from_environment() -> FastAPI:
    """Build the app from ``JUDGELOOP_*`` variables (each process of ``serve --workers N``)."""
    return create_app(Settings())


def _concurrency_limit(settings: Settings, session_factory: sessionmaker[Session]) -> int:
    if settings.max_concurrent_requests is not None:
        return settings.max_concurrent_requests
    bind = session_factory.kw.get("bind")
    # Measured with bench/queue.py on 2 cores: on SQLite, where writers queue for one lock,
    # 4 in flight beat 8 and 16 in throughput and in p99 at K = 8 and K = 64.
    return SQLITE_CONCURRENCY if bind is None or is_sqlite(bind) else SERVER_DB_CONCURRENCY


def healthz() -> dict[str, str]:
    """Tell a load balancer the process is up."""
    return {"status": "ok", "version": __version__}


def _install_pages(app: FastAPI) -> None:
    """Add what ``judgeloop.web.pages`` provides, when it is there.

    ``router`` (the HTML routes), ``render_error_page`` (errors outside ``/api/`` as
    HTML, see ``web.errors``) and ``SecurityHeadersMiddleware`` (for every response).
    """
    try:
        module = importlib.import_module("judgeloop.web.pages")
    except ModuleNotFoundError as exc:
        if exc.name != "judgeloop.web.pages":
            raise
        return
    router = getattr(module, "router", None)
    if isinstance(router, APIRouter):
        app.include_router(router)
    renderer = getattr(module, "render_error_page", None)
    if callable(renderer):
        app.state.render_error_page = renderer
    middleware = getattr(module, "SecurityHeadersMiddleware", None)
    if middleware is not None:
        app.add_middleware(middleware)

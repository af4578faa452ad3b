"""Settings read from ``JUDGELOOP_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything judgeloop can be configured with; each field is documented in docs/."""

    model_config = SettingsConfigDict(env_prefix="JUDGELOOP_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field(
        "dev", description="Deployment environment; 'prod' refuses insecure defaults."
    )
    data_dir: Path = Field(
        Path("data"),
        description="Folder for the SQLite database, the secret key, uploads and exports.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: a SQLite file `judgeloop.db` in the data folder. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    secret_key: str | None = Field(
        None,
        description="Key that signs session cookies and CSRF tokens. Default: generated once "
        "and kept in `<data_dir>/secret_key`.",
    )
    host: str = Field("127.0.0.1", description="Address `judgeloop serve` binds to.")
    port: int = Field(8000, description="Port `judgeloop serve` listens on.")
    secure_cookies: bool = Field(
        False, description="Mark session cookies Secure (set this when served over HTTPS)."
    )
    session_max_age_s: int = Field(
        14 * 24 * 3600, description="Lifetime of a browser session, in seconds."
    )
    upload_max_bytes: int = Field(
        2 * 1024**3, description="Largest data file accepted by the import endpoint, in bytes."
    )
    import_max_line_bytes: int = Field(
        16 * 1024**2,
        description="Longest single line or record accepted in an imported file, in bytes.",
    )
    max_concurrent_requests: int | None = Field(
        None,
        ge=1,
        le=24,
        description="Requests the server works on at once; more wait their turn, so load "
        "never deadlocks the 40 worker threads. Default: 4 on SQLite (one writer at a "
        "time anyway), 16 on PostgreSQL.",
    )

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'judgeloop.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """Return the secret key, generating and keeping one in the data folder on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        if self.env == "prod":
            raise RuntimeError("JUDGELOOP_SECRET_KEY must be set when JUDGELOOP_ENV=prod")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings read from the environment."""
    return Settings()

"""The persistence layer: SQLAlchemy 2 models, engines and Alembic migrations."""

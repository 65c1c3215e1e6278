"""SQLAlchemy models, the repositories that satisfy `oauth.ports`, and Alembic migrations."""

from authature.store.db import Database, create_database, upgrade

__all__ = ["Database", "create_database", "upgrade"]

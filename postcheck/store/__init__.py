"""The store: all database I/O (SQLAlchemy 2, Alembic migrations)."""

from postcheck.store.store import Store

__all__ = ["Store"]

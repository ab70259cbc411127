"""Bring a database to the current schema with Alembic, so a library built today opens
with the code of next year.

Every store open checks the schema; the common case (already at head) costs one query and
no Alembic import: the head revision is read from the migration files' own `revision` /
`down_revision` lines, and Alembic runs only when the database says something else (a new
database, an older schema, or one this code cannot tell)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


@cache
def head_revision() -> str | None:
    """The one revision no migration builds on, from the files' plain assignments; None
    when that is not clear-cut (a branch, an unusual file), and Alembic is asked instead."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        revision = _literal(found.get("revision"))
        if revision is None:
            return None
        revisions.add(revision)
        parent = _literal(found.get("down_revision"))
        if parent is not None:
            parents.add(parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _literal(value: str | None) -> str | None:
    if value is None or len(value) < 2 or value[0] != value[-1] or value[0] not in "\"'":
        return None
    return value[1:-1]


def current_revision(engine: Engine) -> str | None:
    """The database's recorded revision; None for a new database or when it is unclear."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no alembic_version table yet
        return None
    return rows[0][0] if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    head = head_revision()
    if head is not None and current_revision(engine) == head:
        return  # the common case: one query, no Alembic
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

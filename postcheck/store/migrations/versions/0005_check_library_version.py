"""checks record the library version they were matched against

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A recheck that finds a post's media unchanged re-matches their stored fingerprints only
when the library changed since that check: this column says which library it saw. Older
checks have none, so their media are matched again once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("library_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_column("library_version")

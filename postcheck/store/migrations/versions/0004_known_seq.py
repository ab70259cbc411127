"""known images carry the library version that added them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

The on-disk index catches up from the store by this number: every known image added in
one transaction gets the library version that transaction set, and versions are handed
out under the library_state row lock, so they become visible in order (ids need not: two
PostgreSQL transactions may commit their ids out of order). Rows already in the library
get one new version: an index opened after the upgrade catches them all up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("known_images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index(batch_op.f("ix_known_images_seq"), ["seq"], unique=False)
    # One new version for the rows already there (a library from the first schema may
    # still be at version 0), so that an index at version 0 knows it lacks them.
    op.execute(
        "UPDATE library_state SET version = version + 1 "
        "WHERE id = 1 AND EXISTS (SELECT 1 FROM known_images)"
    )
    op.execute("UPDATE known_images SET seq = (SELECT version FROM library_state WHERE id = 1)")


def downgrade() -> None:
    with op.batch_alter_table("known_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_images_seq"))
        batch_op.drop_column("seq")

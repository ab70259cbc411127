"""known images may be a hash alone (from another desk's hash list), with no file

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

`postcheck known import-hashes` reads hash lists (python-threatexchange's local-file
format, our CSV export) of pictures we do not have the files for. Such an entry has no
media row: `media_id` becomes nullable and the entry carries its one code itself
(`hash_family`, `hash_code`, unique together so a list imported twice adds nothing), with
where it came from (`list_name`, `list_line`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("known_images", schema=None) as batch_op:
        batch_op.alter_column("media_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("hash_family", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("hash_code", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("list_name", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("list_line", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_known_images_hash", ["hash_family", "hash_code"])


def downgrade() -> None:
    op.execute("DELETE FROM known_images WHERE media_id IS NULL")
    with op.batch_alter_table("known_images", schema=None) as batch_op:
        batch_op.drop_constraint("uq_known_images_hash", type_="unique")
        batch_op.drop_column("list_line")
        batch_op.drop_column("list_name")
        batch_op.drop_column("hash_code")
        batch_op.drop_column("hash_family")
        batch_op.alter_column("media_id", existing_type=sa.Integer(), nullable=False)

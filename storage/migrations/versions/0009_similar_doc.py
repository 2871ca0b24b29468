"""similar_doc: the duplicate search's stored index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 09:12:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows are filled by the application: at the first search after the upgrade, the submitted initiatives that
    # have none are indexed in batches (storage.similar.store.backfill).
    op.create_table('similar_doc',
    sa.Column('initiative_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('terms', sa.LargeBinary(), nullable=False),
    sa.Column('changed_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ),
    sa.PrimaryKeyConstraint('initiative_id')
    )
    with op.batch_alter_table('similar_doc', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similar_doc_changed_ms'), ['changed_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('similar_doc', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similar_doc_changed_ms'))

    op.drop_table('similar_doc')

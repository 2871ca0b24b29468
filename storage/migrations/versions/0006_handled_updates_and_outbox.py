"""handled updates and the outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'handled_update',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=True),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_handled_update_at'), 'handled_update', ['at'], unique=False)
    op.create_index(op.f('ix_handled_update_source'), 'handled_update', ['source'], unique=False)
    op.create_index(op.f('ix_handled_update_seq'), 'handled_update', ['seq'], unique=False)
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_outbox_due_at'), 'outbox', ['due_at'], unique=False)
    op.create_index(op.f('ix_outbox_done_at'), 'outbox', ['done_at'], unique=False)
    op.create_index(op.f('ix_outbox_origin'), 'outbox', ['origin'], unique=False)
    # Submissions left without a card by a crash between two commits (before the outbox existed) get one now.
    op.execute(
        "INSERT INTO outbox (kind, payload, created_at, due_at, attempts) "
        "SELECT 'card.post', '{\"iid\": ' || i.id || ', \"round\": ' || i.review_round || ', \"notify\": false}', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0 FROM initiative i WHERE i.status IN ('submitted', 'in_review') "
        "AND NOT EXISTS (SELECT 1 FROM review_card c WHERE c.initiative_id = i.id AND c.round = i.review_round)"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_origin'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_done_at'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_due_at'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_handled_update_seq'), table_name='handled_update')
    op.drop_index(op.f('ix_handled_update_source'), table_name='handled_update')
    op.drop_index(op.f('ix_handled_update_at'), table_name='handled_update')
    op.drop_table('handled_update')

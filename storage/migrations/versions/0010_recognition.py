"""recognition: an initiative's recognition decision and its upload to the TLĐ system

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A checked initiative (status "confirmed") keeps its status; the recognition and the upload are recorded next
    # to it, and the tallies count it under "recognised" or "uploaded" from then on (no row has either yet).
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_no', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decision_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('decision_body', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('recognised_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('uploaded_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_initiative_recognised_by', 'member', ['recognised_by_id'], ['id'])
        batch_op.create_foreign_key('fk_initiative_uploaded_by', 'member', ['uploaded_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_constraint('fk_initiative_uploaded_by', type_='foreignkey')
        batch_op.drop_constraint('fk_initiative_recognised_by', type_='foreignkey')
        batch_op.drop_column('uploaded_by_id')
        batch_op.drop_column('uploaded_on')
        batch_op.drop_column('recognised_by_id')
        batch_op.drop_column('decision_body')
        batch_op.drop_column('decision_on')
        batch_op.drop_column('decision_no')

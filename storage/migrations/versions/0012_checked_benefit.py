"""the benefit as the support team checked it: its figure and note next to the author's, and how many counted
initiatives of a tally use it

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 02:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_benefit', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('checked_benefit_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('checked_benefit_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_initiative_checked_benefit_by', 'member', ['checked_benefit_by_id'], ['id'])
    with op.batch_alter_table('tally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('benefit_checked', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('tally', schema=None) as batch_op:
        batch_op.drop_column('benefit_checked')
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_constraint('fk_initiative_checked_benefit_by', type_='foreignkey')
        batch_op.drop_column('checked_benefit_by_id')
        batch_op.drop_column('checked_benefit_note')
        batch_op.drop_column('checked_benefit')

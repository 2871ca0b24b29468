"""the team writes for a member: who writes a draft for its author, and a draft handed to the team

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('helper_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('help_asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key('fk_initiative_helper', 'member', ['helper_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_constraint('fk_initiative_helper', type_='foreignkey')
        batch_op.drop_column('help_asked_at')
        batch_op.drop_column('helper_id')

"""review groups, roles and cards

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:21:20.355047
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('reminder_hour', sa.Integer(), nullable=True),
    sa.Column('reminder_days', sa.Integer(), server_default='3', nullable=False),
    sa.Column('bound_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bound_by_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id'),
    sa.UniqueConstraint('unit_id')
    )
    op.create_table('role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'unit_id', 'role')
    )
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_unit_id'), ['unit_id'], unique=False)

    op.create_table('review_card',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_card_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_card_initiative_id'), ['initiative_id'], unique=False)

    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_round', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('submitted_answers', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('taken_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_initiative_decided_by_member', 'member', ['decided_by_id'], ['id'])
        batch_op.create_foreign_key('fk_initiative_taken_by_member', 'member', ['taken_by_id'], ['id'])

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_member_username'), ['username'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_username'))
        batch_op.drop_column('username')

    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_constraint('fk_initiative_taken_by_member', type_='foreignkey')
        batch_op.drop_constraint('fk_initiative_decided_by_member', type_='foreignkey')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('taken_at')
        batch_op.drop_column('taken_by_id')
        batch_op.drop_column('submitted_answers')
        batch_op.drop_column('review_round')

    with op.batch_alter_table('review_card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_card_initiative_id'))
        batch_op.drop_index(batch_op.f('ix_review_card_chat_id'))

    op.drop_table('review_card')
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_unit_id'))
        batch_op.drop_index(batch_op.f('ix_role_member_id'))

    op.drop_table('role')
    op.drop_table('review_group')

"""dispatch claims and broker reachability

Revision ID: 6e1c0b9d4f2a
Revises: b7e21c4d9f03
Create Date: 2026-12-01 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6e1c0b9d4f2a'
down_revision = 'b7e21c4d9f03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim', sa.String(length=32), nullable=True))

    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('broker_unreachable_since', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('broker_unreachable_since')

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('claim')

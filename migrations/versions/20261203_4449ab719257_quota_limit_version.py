"""quota limit version: how many times a year's limit has been set, so a form rendered before
someone else's setting is refused

Revision ID: 4449ab719257
Revises: b183f47c0ead
Create Date: 2026-12-03 09:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4449ab719257'
down_revision = 'b183f47c0ead'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quota_periods', schema=None) as batch_op:
        # Every year already there has been set once.
        batch_op.add_column(sa.Column('limit_version', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade():
    with op.batch_alter_table('quota_periods', schema=None) as batch_op:
        batch_op.drop_column('limit_version')

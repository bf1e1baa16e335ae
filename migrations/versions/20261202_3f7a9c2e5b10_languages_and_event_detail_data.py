"""languages of accounts and applicants; event details as a message key and its values;
the step that gave a quota place back

Revision ID: 3f7a9c2e5b10
Revises: 6e1c0b9d4f2a
Create Date: 2026-12-02 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f7a9c2e5b10'
down_revision = '6e1c0b9d4f2a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), server_default='en', nullable=False))

    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), server_default='en', nullable=False))

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail_data', sa.JSON(), nullable=True))

    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail_data', sa.JSON(), nullable=True))

    with op.batch_alter_table('quota_allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_step', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('quota_allocations', schema=None) as batch_op:
        batch_op.drop_column('release_step')

    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_column('detail_data')

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('detail_data')

    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')

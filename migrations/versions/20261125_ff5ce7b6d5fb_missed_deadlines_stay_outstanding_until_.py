"""missed deadlines stay outstanding until their case ends or a later one replaces them

Revision ID: ff5ce7b6d5fb
Revises: 34ad99b0a6ff
Create Date: 2026-11-25 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ff5ce7b6d5fb'
down_revision = '34ad99b0a6ff'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_missed_open_case_due_on', sqlite_where=sa.text("state = 'missed' AND case_open"), postgresql_where=sa.text("state = 'missed' AND case_open"))
        batch_op.alter_column('case_open', new_column_name='outstanding', existing_type=sa.Boolean(), existing_server_default=sa.true(), existing_nullable=False)
        batch_op.create_index('ix_deadlines_missed_outstanding_due_on', ['due_on', 'id'], unique=False, sqlite_where=sa.text("state = 'missed' AND outstanding"), postgresql_where=sa.text("state = 'missed' AND outstanding"))

    # A missed deadline that a later one of its kind has already replaced (an extension
    # granted after the stay end) is history, not work.
    op.execute("""
        UPDATE deadlines SET outstanding = false
        WHERE state = 'missed' AND EXISTS (
            SELECT 1 FROM deadlines AS later
            WHERE later.case_id = deadlines.case_id AND later.kind = deadlines.kind
              AND later.id > deadlines.id AND later.state <> 'cancelled')
    """)


def downgrade():
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_missed_outstanding_due_on', sqlite_where=sa.text("state = 'missed' AND outstanding"), postgresql_where=sa.text("state = 'missed' AND outstanding"))
        batch_op.alter_column('outstanding', new_column_name='case_open', existing_type=sa.Boolean(), existing_server_default=sa.true(), existing_nullable=False)
        batch_op.create_index('ix_deadlines_missed_open_case_due_on', ['due_on', 'id'], unique=False, sqlite_where=sa.text("state = 'missed' AND case_open"), postgresql_where=sa.text("state = 'missed' AND case_open"))

    # Only an ended case's deadlines were marked before.
    op.execute("UPDATE deadlines SET case_open = true WHERE case_id IN (SELECT id FROM cases "
               "WHERE status NOT IN ('refused', 'withdrawn', 'lapsed', 'closed'))")

"""queues that say what is next: each case's next open deadline (kept on the case, for the
queues' sort by it), an index for the "last change" sort, and each user's saved filters

The next deadline of every existing case is filled in from its open deadlines (the earliest
by date; on one date a job offer before the stay end, as ``stay.NEXT_DEADLINE_ORDER``).

Revision ID: e5f6a7b8c9d0
Revises: c3d4e5f6a7b8
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f6a7b8c9d0'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None

_KINDS = "'stay_end', 'job_offer', 'extension_window', 'entry'"

# The same order as stay.NEXT_DEADLINE_ORDER, frozen here as the migration's own copy.
_FIRST_OPEN = """
SELECT d.{column} FROM deadlines d WHERE d.case_id = cases.id AND d.state = 'open'
ORDER BY d.due_on, CASE d.kind WHEN 'job_offer' THEN 0 WHEN 'stay_end' THEN 1
                               WHEN 'entry' THEN 2 ELSE 3 END
LIMIT 1
"""

_BACKFILL = f"""
UPDATE cases SET next_deadline_on = ({_FIRST_OPEN.format(column='due_on')}),
                 next_deadline_kind = ({_FIRST_OPEN.format(column='kind')})
WHERE EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = cases.id AND d.state = 'open')
"""


# SQLite re-creates the table to add a check constraint; its reflection need not follow the
# foreign keys into applicants, whose expression index (lower(email)) it cannot read.
_NO_FK_REFLECTION = {"resolve_fks": False}


def upgrade():
    with op.batch_alter_table('cases', schema=None,
                              reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.add_column(sa.Column('next_deadline_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_deadline_kind', sa.String(length=32), nullable=True))
        batch_op.create_check_constraint('next_deadline_kind', f"next_deadline_kind IN ({_KINDS})")
        batch_op.create_index('ix_cases_updated_at_id', ['updated_at', 'id'], unique=False)
    op.execute(_BACKFILL)
    # After the backfill: filling an indexed column writes the index too.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_next_deadline_on_id', ['next_deadline_on', 'id'],
                              unique=False)
        batch_op.create_index('ix_cases_assignee_id_next_deadline_on_id',
                              ['assignee_id', 'next_deadline_on', 'id'], unique=False)

    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('queue', sa.String(length=20), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_saved_filters_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
        sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_filters_user_id_name')),
    )


def downgrade():
    op.drop_table('saved_filters')
    with op.batch_alter_table('cases', schema=None,
                              reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.drop_index('ix_cases_updated_at_id')
        batch_op.drop_index('ix_cases_assignee_id_next_deadline_on_id')
        batch_op.drop_index('ix_cases_next_deadline_on_id')
        batch_op.drop_constraint(batch_op.f('ck_cases_next_deadline_kind'), type_='check')
        batch_op.drop_column('next_deadline_kind')
        batch_op.drop_column('next_deadline_on')

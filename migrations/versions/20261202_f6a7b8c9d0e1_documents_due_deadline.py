"""documents due: a deadline kind for documents asked of the applicant, the case's due date
for them, its count of required documents missing, and a document event kind

Revision ID: f6a7b8c9d0e1
Revises: d4e5f6a7b8c9
Create Date: 2026-12-02 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f6a7b8c9d0e1'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None

_OLD_KINDS = "'stay_end', 'job_offer', 'extension_window', 'entry'"
_NEW_KINDS = _OLD_KINDS + ", 'documents_due'"
_OLD_EVENTS = ("'created', 'edited', 'transition', 'assigned', 'dependant_added', "
               "'dependant_removed'")
_NEW_EVENTS = _OLD_EVENTS + ", 'document'"
# SQLite re-creates a table to change a check constraint; its reflection need not follow the
# foreign keys into applicants, whose expression index (lower(email)) it cannot read.
_NO_FK_REFLECTION = {"resolve_fks": False}


def _kinds(kinds, events):
    with op.batch_alter_table('deadlines', schema=None, reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(op.f('ck_deadlines_deadline_kind'), type_='check')
        batch_op.create_check_constraint('deadline_kind', f"kind IN ({kinds})")
    with op.batch_alter_table('case_events', schema=None,
                              reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(op.f('ck_case_events_event_kind'), type_='check')
        batch_op.create_check_constraint('event_kind', f"kind IN ({events})")


def upgrade():
    with op.batch_alter_table('cases', schema=None, reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.add_column(sa.Column('documents_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('documents_missing', sa.SmallInteger(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_cases_next_deadline_kind'), type_='check')
        batch_op.create_check_constraint('next_deadline_kind',
                                         f"next_deadline_kind IN ({_NEW_KINDS})")
    _kinds(_NEW_KINDS, _NEW_EVENTS)


def downgrade():
    op.execute("DELETE FROM case_events WHERE kind = 'document'")
    op.execute("DELETE FROM deadlines WHERE kind = 'documents_due'")
    op.execute("UPDATE cases SET next_deadline_on = NULL, next_deadline_kind = NULL "
               "WHERE next_deadline_kind = 'documents_due'")
    _kinds(_OLD_KINDS, _OLD_EVENTS)
    with op.batch_alter_table('cases', schema=None, reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cases_next_deadline_kind'), type_='check')
        batch_op.create_check_constraint('next_deadline_kind',
                                         f"next_deadline_kind IN ({_OLD_KINDS})")
        batch_op.drop_column('documents_missing')
        batch_op.drop_column('documents_due_on')

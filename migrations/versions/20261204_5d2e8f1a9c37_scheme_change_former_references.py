"""a change of scheme on a draft: the references a case had before (still found by the
search), and a case event kind for the change

Revision ID: 5d2e8f1a9c37
Revises: cf39e06feaa5
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2e8f1a9c37'
down_revision = 'cf39e06feaa5'
branch_labels = None
depends_on = None

_OLD_EVENTS = ("'created', 'edited', 'transition', 'assigned', 'dependant_added', "
               "'dependant_removed', 'document'")
_NEW_EVENTS = _OLD_EVENTS + ", 'scheme_changed'"
# SQLite re-creates a table to change a check constraint; its reflection need not follow the
# foreign keys into applicants, whose expression index (lower(email)) it cannot read.
_NO_FK_REFLECTION = {"resolve_fks": False}


def _events(events):
    with op.batch_alter_table('case_events', schema=None,
                              reflect_kwargs=_NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(op.f('ck_case_events_event_kind'), type_='check')
        batch_op.create_check_constraint('event_kind', f"kind IN ({events})")


def upgrade():
    op.create_table(
        'former_references',
        sa.Column('reference', sa.String(length=24), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_former_references_case_id_cases')),
        sa.PrimaryKeyConstraint('reference', name=op.f('pk_former_references')),
    )
    with op.batch_alter_table('former_references', schema=None) as batch_op:
        batch_op.create_index('ix_former_references_case_id', ['case_id'], unique=False)
    _events(_NEW_EVENTS)


def downgrade():
    # The history of a change of scheme cannot be told in the older kinds: it goes, with the
    # references it kept (the cases keep the reference they were given last).
    op.execute("DELETE FROM case_events WHERE kind = 'scheme_changed'")
    _events(_OLD_EVENTS)
    with op.batch_alter_table('former_references', schema=None) as batch_op:
        batch_op.drop_index('ix_former_references_case_id')
    op.drop_table('former_references')

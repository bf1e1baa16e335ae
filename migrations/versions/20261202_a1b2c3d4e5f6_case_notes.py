"""case notes: who wrote what on a case, when; append-only, a later note may correct an
earlier one of the same case (at most once)

Revision ID: a1b2c3d4e5f6
Revises: 1c976e70d1c6
Create Date: 2026-12-02 06:16:02.989476

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = '1c976e70d1c6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('corrects_note_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('length(text) BETWEEN 1 AND 4000', name=op.f('ck_case_notes_text_length')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_notes_author_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases')),
        sa.ForeignKeyConstraint(['corrects_note_id'], ['case_notes.id'],
                                name=op.f('fk_case_notes_corrects_note_id_case_notes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes')),
        sa.UniqueConstraint('corrects_note_id', name=op.f('uq_case_notes_corrects_note_id')),
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index('ix_case_notes_case_id_id', ['case_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_case_notes_case_id_id')

    op.drop_table('case_notes')

"""letters to the applicant: what each says (its data, kept) and its PDF once made (a document
of the case); the worker finds the ones still to make through a partial index

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-02 18:22:17.974550

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8c9d0e1f2a3'
down_revision = 'a7b8c9d0e1f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('acknowledgement', 'documents_request', 'approval', 'refusal', 'extension_granted', 'extension_refused', name='letter_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('written_by_id', sa.Integer(), nullable=True),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_letters_case_id_cases')),
    sa.ForeignKeyConstraint(['file_id'], ['document_files.id'], name=op.f('fk_letters_file_id_document_files')),
    sa.ForeignKeyConstraint(['written_by_id'], ['users.id'], name=op.f('fk_letters_written_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters'))
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index('ix_letters_case_id_id', ['case_id', 'id'], unique=False)
        batch_op.create_index('ix_letters_pending_id', ['id'], unique=False, sqlite_where=sa.text('file_id IS NULL'), postgresql_where=sa.text('file_id IS NULL'))



def downgrade():
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index('ix_letters_pending_id', sqlite_where=sa.text('file_id IS NULL'), postgresql_where=sa.text('file_id IS NULL'))
        batch_op.drop_index('ix_letters_case_id_id')

    op.drop_table('letters')

"""documents: each case's checklist items, the files kept against them (and letters), the
requests sent to the applicant; downloads of a case's files in the security log

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
Create Date: 2026-12-02 18:06:08.380224

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7b8c9d0e1f2'
down_revision = 'f6a7b8c9d0e1'
branch_labels = None
depends_on = None

_OLD_SECURITY_KINDS = ('login', 'login_failed', 'locked_out', 'login_while_locked',
                       'login_inactive', 'logout', 'user_created', 'role_changed', 'deactivated',
                       'reactivated', 'password_changed', 'password_reset', 'unlocked')
_NEW_SECURITY_KINDS = _OLD_SECURITY_KINDS + ('document_downloaded',)


def _security_kinds(kinds):
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_security_events_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN {kinds!r}")


def upgrade():
    op.create_table('document_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('emailed', sa.Boolean(), nullable=False),
    sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('due_on >= requested_on', name=op.f('ck_document_requests_due_after_request')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_document_requests_case_id_cases')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_document_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_requests'))
    )
    with op.batch_alter_table('document_requests', schema=None) as batch_op:
        batch_op.create_index('ix_document_requests_case_id', ['case_id'], unique=False)

    op.create_table('document_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requirement', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=40), nullable=False),
    sa.Column('dependant_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('missing', 'received', 'accepted', 'rejected', 'waived', name='item_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state <> 'received' OR received_on IS NOT NULL", name=op.f('ck_document_items_received_has_date')),
    sa.CheckConstraint("state NOT IN ('rejected', 'waived') OR reason IS NOT NULL", name=op.f('ck_document_items_rejected_or_waived_has_reason')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_document_items_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_document_items_decided_by_id_users')),
    sa.ForeignKeyConstraint(['dependant_id'], ['dependants.id'], name=op.f('fk_document_items_dependant_id_dependants')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_document_items_received_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_items')),
    sa.UniqueConstraint('case_id', 'requirement', 'holder', name=op.f('uq_document_items_case_id_requirement_holder'))
    )
    op.create_table('document_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('storage_key', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('current', 'superseded', 'withdrawn', name='file_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name=op.f('ck_document_files_withdrawn_when_dated')),
    sa.CheckConstraint('size > 0', name=op.f('ck_document_files_size_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_document_files_case_id_cases')),
    sa.ForeignKeyConstraint(['item_id'], ['document_items.id'], name=op.f('fk_document_files_item_id_document_items')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['document_files.id'], name=op.f('fk_document_files_superseded_by_id_document_files')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_document_files_uploaded_by_id_users')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_document_files_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_document_files_storage_key'))
    )
    with op.batch_alter_table('document_files', schema=None) as batch_op:
        batch_op.create_index('ix_document_files_case_id_id', ['case_id', 'id'], unique=False)

    op.create_table('document_request_items',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['document_items.id'], name=op.f('fk_document_request_items_item_id_document_items')),
    sa.ForeignKeyConstraint(['request_id'], ['document_requests.id'], name=op.f('fk_document_request_items_request_id_document_requests')),
    sa.PrimaryKeyConstraint('request_id', 'item_id', name=op.f('pk_document_request_items'))
    )
    _security_kinds(_NEW_SECURITY_KINDS)


def downgrade():
    op.execute("DELETE FROM security_events WHERE kind = 'document_downloaded'")
    _security_kinds(_OLD_SECURITY_KINDS)
    op.drop_table('document_request_items')
    with op.batch_alter_table('document_files', schema=None) as batch_op:
        batch_op.drop_index('ix_document_files_case_id_id')

    op.drop_table('document_files')
    op.drop_table('document_items')
    with op.batch_alter_table('document_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_document_requests_case_id')

    op.drop_table('document_requests')

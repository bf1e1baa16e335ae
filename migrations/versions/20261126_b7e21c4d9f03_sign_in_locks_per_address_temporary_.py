"""sign-in locks per account and address, temporary passwords, security log keyset index

Revision ID: b7e21c4d9f03
Revises: ff5ce7b6d5fb
Create Date: 2026-11-26 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e21c4d9f03'
down_revision = 'ff5ce7b6d5fb'
branch_labels = None
depends_on = None

OLD_KINDS = ('login', 'login_failed', 'locked_out', 'login_while_locked', 'login_inactive',
             'logout', 'user_created', 'role_changed', 'deactivated', 'reactivated',
             'password_changed')
NEW_KINDS = OLD_KINDS + ('password_reset', 'unlocked')


def _kinds(values):
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table('sign_in_locks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_sign_in_locks_failures_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_locks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_locks')),
    sa.UniqueConstraint('user_id', 'address', name=op.f('uq_sign_in_locks_user_id_address'))
    )
    # Accounts that exist already chose their passwords as far as we know: false for them.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_constraint(batch_op.f('ck_users_failed_logins_not_negative'), type_='check')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_security_events_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_security_events_kind'), _kinds(NEW_KINDS))
        batch_op.create_index('ix_security_events_at_id', ['at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index('ix_security_events_at_id')
        batch_op.drop_constraint(batch_op.f('ck_security_events_kind'), type_='check')
    op.execute(f"DELETE FROM security_events WHERE kind NOT IN {OLD_KINDS!r}")
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_security_events_kind'), _kinds(OLD_KINDS))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_users_failed_logins_not_negative'), 'failed_logins >= 0')
        batch_op.drop_column('must_change_password')
    op.drop_table('sign_in_locks')

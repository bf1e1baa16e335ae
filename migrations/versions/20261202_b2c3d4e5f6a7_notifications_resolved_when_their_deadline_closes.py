"""notifications resolved when their deadline closes: an unread notification whose
deadline is met, moved or cancelled says so and stops counting as unread

Unread notifications whose deadline had already closed are resolved here with what the
deadline's rows tell (met; the case ended; a newer deadline of the kind replaced it; no
longer applies).

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-02 06:19:06.871189

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2c3d4e5f6a7'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None

# The deadline of a notification (through its reminder) that is nobody's work any more.
_CLOSED = """
SELECT r.id FROM reminders r JOIN deadlines d ON d.id = r.deadline_id
WHERE d.state IN ('met', 'cancelled') OR (d.state = 'missed' AND NOT d.outstanding)
"""

_RESOLVE = f"""
UPDATE notifications SET
  resolved_at = (SELECT d.closed_at FROM reminders r JOIN deadlines d ON d.id = r.deadline_id
                 WHERE r.id = notifications.reminder_id),
  resolution = (SELECT CASE
                  WHEN d.state = 'met' THEN 'met'
                  WHEN c.ended_at IS NOT NULL THEN 'case_ended'
                  WHEN EXISTS (SELECT 1 FROM deadlines later WHERE later.case_id = d.case_id
                               AND later.kind = d.kind AND later.id > d.id) THEN 'moved'
                  ELSE 'dropped' END
                FROM reminders r JOIN deadlines d ON d.id = r.deadline_id
                JOIN cases c ON c.id = d.case_id
                WHERE r.id = notifications.reminder_id)
WHERE read_at IS NULL AND reminder_id IN ({_CLOSED})
"""


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.String(length=32), nullable=True))
        batch_op.create_check_constraint(
            'deadline_closure', "resolution IN ('met', 'moved', 'dropped', 'case_ended')")
        batch_op.create_check_constraint(
            'resolved_with_a_reason', '(resolved_at IS NULL) = (resolution IS NULL)')
        batch_op.create_check_constraint(
            'read_or_resolved', 'read_at IS NULL OR resolved_at IS NULL')
        batch_op.drop_index(batch_op.f('ix_notifications_user_id_read_at_id'))
        batch_op.create_index('ix_notifications_user_id_read_at_resolved_at',
                              ['user_id', 'read_at', 'resolved_at'], unique=False)
    op.execute(_RESOLVE)


def downgrade():
    # Before this, a notification was read or unread: a resolved one asks for nothing, so it
    # goes back as read (it does not come back into the badge).
    op.execute("UPDATE notifications SET read_at = resolved_at WHERE resolved_at IS NOT NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_read_at_resolved_at')
        batch_op.create_index(batch_op.f('ix_notifications_user_id_read_at_id'),
                              ['user_id', 'read_at', 'id'], unique=False)
        batch_op.drop_constraint(batch_op.f('ck_notifications_read_or_resolved'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_notifications_resolved_with_a_reason'),
                                 type_='check')
        batch_op.drop_constraint(batch_op.f('ck_notifications_deadline_closure'), type_='check')
        batch_op.drop_column('resolution')
        batch_op.drop_column('resolved_at')

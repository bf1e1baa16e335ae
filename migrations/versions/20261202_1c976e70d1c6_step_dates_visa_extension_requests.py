"""step dates as the caseworker gives them; the visa's number and validity (an entry
deadline); extension requests with their length, grounds and job offer; extensions granted
for fewer months than the policy's

Cases recorded before this keep no step dates (``status_since`` and ``occurred_on`` stay
NULL): their next step is bounded by the submission date only.

Revision ID: 1c976e70d1c6
Revises: 3f7a9c2e5b10
Create Date: 2026-12-02 05:18:03.443059

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1c976e70d1c6'
down_revision = '3f7a9c2e5b10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurred_on', sa.Date(), nullable=True))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visa_number', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('visa_valid_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_months_total', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('extension_requested_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_months_requested', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('extension_grounds', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('extension_job_offer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('status_since', sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            'visa_valid_after_issue', 'visa_valid_until IS NULL OR visa_valid_until >= visa_issued_on')
        batch_op.create_check_constraint(
            'extension_months_positive', 'extension_months_requested IS NULL OR extension_months_requested > 0')

    # Every extension so far was of the policy's length.
    op.execute("UPDATE cases SET extension_months_total = extensions_granted * stay_extension_months "
               "WHERE extensions_granted > 0")

    with op.batch_alter_table('job_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offered_on', sa.Date(), nullable=True))

    # A new kind of deadline: entry by the visa's validity end.
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_deadlines_deadline_kind'), type_='check')
        batch_op.create_check_constraint(
            'deadline_kind', "kind IN ('stay_end', 'job_offer', 'extension_window', 'entry')")


def downgrade():
    op.execute("DELETE FROM deadlines WHERE kind = 'entry'")
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_deadlines_deadline_kind'), type_='check')
        batch_op.create_check_constraint(
            'deadline_kind', "kind IN ('stay_end', 'job_offer', 'extension_window')")

    with op.batch_alter_table('job_offers', schema=None) as batch_op:
        batch_op.drop_column('offered_on')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_extension_months_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_cases_visa_valid_after_issue'), type_='check')
        batch_op.drop_column('status_since')
        batch_op.drop_column('extension_job_offer_id')
        batch_op.drop_column('extension_grounds')
        batch_op.drop_column('extension_months_requested')
        batch_op.drop_column('extension_requested_on')
        batch_op.drop_column('extension_months_total')
        batch_op.drop_column('visa_valid_until')
        batch_op.drop_column('visa_number')

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('occurred_on')

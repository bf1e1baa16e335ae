"""quota counters: each year's active places per month and per nationality, filled from the
allocations

Revision ID: b183f47c0ead
Revises: b8c9d0e1f2a3
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b183f47c0ead'
down_revision = 'b8c9d0e1f2a3'
branch_labels = None
depends_on = None

_periods = sa.table('quota_periods', sa.column('id', sa.Integer), sa.column('year', sa.Integer))
_allocations = sa.table('quota_allocations', sa.column('period_id', sa.Integer),
                        sa.column('allocated_on', sa.Date),
                        sa.column('nationality', sa.String(2)),
                        sa.column('released_at', sa.DateTime(timezone=True)))


def _fill_counters():
    """Count the active allocations of every year, as quota.services.rebuild_counters does
    (written out here, so the migration keeps its meaning whatever the code becomes): a date
    outside its period's year counts in the nearest month."""
    on_year = sa.extract('year', _allocations.c.allocated_on)
    month = sa.case((on_year < _periods.c.year, 1), (on_year > _periods.c.year, 12),
                    else_=sa.extract('month', _allocations.c.allocated_on)).cast(sa.Integer)
    active = (sa.select(_allocations.c.period_id, month.label('month'),
                        _allocations.c.nationality)
              .join(_periods, _periods.c.id == _allocations.c.period_id)
              .where(_allocations.c.released_at.is_(None))
              .subquery())
    for table, key in (('quota_month_counts', 'month'),
                       ('quota_nationality_counts', 'nationality')):
        target = sa.table(table, sa.column('period_id'), sa.column(key), sa.column('allocated'))
        op.execute(target.insert().from_select(
            ['period_id', key, 'allocated'],
            sa.select(active.c.period_id, active.c[key], sa.func.count())
            .group_by(active.c.period_id, active.c[key])))


def upgrade():
    op.create_table('quota_month_counts',
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.SmallInteger(), nullable=False),
    sa.Column('allocated', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('allocated >= 0', name=op.f('ck_quota_month_counts_allocated_not_negative')),
    sa.CheckConstraint('month BETWEEN 1 AND 12', name=op.f('ck_quota_month_counts_month_of_the_year')),
    sa.ForeignKeyConstraint(['period_id'], ['quota_periods.id'], name=op.f('fk_quota_month_counts_period_id_quota_periods')),
    sa.PrimaryKeyConstraint('period_id', 'month', name=op.f('pk_quota_month_counts'))
    )
    op.create_table('quota_nationality_counts',
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('nationality', sa.String(length=2), nullable=False),
    sa.Column('allocated', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('allocated >= 0', name=op.f('ck_quota_nationality_counts_allocated_not_negative')),
    sa.ForeignKeyConstraint(['period_id'], ['quota_periods.id'], name=op.f('fk_quota_nationality_counts_period_id_quota_periods')),
    sa.PrimaryKeyConstraint('period_id', 'nationality', name=op.f('pk_quota_nationality_counts'))
    )
    _fill_counters()


def downgrade():
    op.drop_table('quota_nationality_counts')
    op.drop_table('quota_month_counts')

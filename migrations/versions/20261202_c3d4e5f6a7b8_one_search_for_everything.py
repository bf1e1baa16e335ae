"""one search for everything: dependants' names, passports and HKIDs, applicants' emails
(whatever their case) and phones (by their last digits) are found through an index

Existing rows get their dependants' ``name_search`` and applicants' ``phone_key`` here, computed
as the services compute them (``search_text`` and ``phone_key`` in cases/models.py, copied so
that a later change of the model does not change what this migration did).

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d4e5f6a7b8'
down_revision = 'b2c3d4e5f6a7'
branch_labels = None
depends_on = None

_BATCH = 5000


def _search_text(family_name, given_names, chinese_name):
    text = " ".join(p for p in (family_name, given_names, chinese_name or "") if p).lower()
    return text[:320]


def _phone_key(phone):
    digits = "".join(ch for ch in (phone or "") if "0" <= ch <= "9")
    return digits[::-1][:30] or None


def _backfill(table, columns, compute, target):
    """Fill ``target`` of every row of ``table`` from ``columns``, a batch at a time, by id
    (in Python, so SQLite and PostgreSQL lower-case a name exactly as the service does)."""
    conn = op.get_bind()
    rows = sa.table(table, sa.column("id"), sa.column(target), *map(sa.column, columns))
    update = sa.update(rows).where(rows.c.id == sa.bindparam("row_id")).values(
        {target: sa.bindparam("value")})
    last = 0
    while True:
        batch = conn.execute(sa.select(rows.c.id, *(rows.c[c] for c in columns))
                             .where(rows.c.id > last).order_by(rows.c.id).limit(_BATCH)).all()
        if not batch:
            return
        values = [{"row_id": row[0], "value": compute(*row[1:])} for row in batch]
        conn.execute(update, values)
        last = batch[-1][0]


def upgrade():
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_key', sa.String(length=30), nullable=True))
    with op.batch_alter_table('dependants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_search', sa.String(length=320), nullable=True))

    _backfill('applicants', ('phone',), _phone_key, 'phone_key')
    _backfill('dependants', ('family_name', 'given_names', 'chinese_name'), _search_text,
              'name_search')

    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.create_index('ix_applicants_phone_key', ['phone_key'], unique=False,
                              postgresql_ops={'phone_key': 'varchar_pattern_ops'})
    with op.batch_alter_table('dependants', schema=None) as batch_op:
        batch_op.alter_column('name_search', existing_type=sa.String(length=320),
                              nullable=False)
        batch_op.create_index('ix_dependants_passport_number', ['passport_number'],
                              unique=False)
        batch_op.create_index('ix_dependants_hkid', ['hkid'], unique=False)
        batch_op.create_index('ix_dependants_name_search_trgm', ['name_search'], unique=False,
                              postgresql_using='gin',
                              postgresql_ops={'name_search': 'gin_trgm_ops'})
    # Outside a batch, and last: SQLite's reflection (which a batch runs) cannot read an
    # expression index, and warns. A later batch on applicants must re-create it.
    op.create_index('ix_applicants_lower_email', 'applicants', [sa.text('lower(email)')],
                    unique=False)


def downgrade():
    op.drop_index('ix_applicants_lower_email', table_name='applicants')
    with op.batch_alter_table('dependants', schema=None) as batch_op:
        batch_op.drop_index('ix_dependants_name_search_trgm', postgresql_using='gin',
                            postgresql_ops={'name_search': 'gin_trgm_ops'})
        batch_op.drop_index('ix_dependants_hkid')
        batch_op.drop_index('ix_dependants_passport_number')
        batch_op.drop_column('name_search')
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_index('ix_applicants_phone_key',
                            postgresql_ops={'phone_key': 'varchar_pattern_ops'})
        batch_op.drop_column('phone_key')

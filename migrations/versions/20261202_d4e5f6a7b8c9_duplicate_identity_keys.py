"""duplicate identity keys: normalised passport and name keys on applicants and dependants,
indexed for the duplicate rules (passport with nationality, HKID, name with date of birth)

The keys of existing rows are computed here, with the same normalisation as
backoffice/cases/duplicates.py (copied: a migration never imports application code).

Revision ID: d4e5f6a7b8c9
Revises: e5f6a7b8c9d0
Create Date: 2026-12-02 14:00:00.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e5f6a7b8c9'
down_revision = 'e5f6a7b8c9d0'
branch_labels = None
depends_on = None

_HYPHENS = frozenset("-\u2010\u2011\u2012\u2013\u2212")
_BATCH = 5000


def _passport_key(number):
    text = "".join(unicodedata.normalize("NFKC", number or "").split())
    return "".join(ch for ch in text if ch not in _HYPHENS).upper()[:40]


def _name_key(family_name, given_names):
    def part(text):
        return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
    return f"{part(family_name)}|{part(given_names)}"[:320]


def _backfill(table_name):
    table = sa.table(table_name, sa.column('id', sa.Integer),
                     sa.column('family_name', sa.String), sa.column('given_names', sa.String),
                     sa.column('passport_number', sa.String),
                     sa.column('passport_key', sa.String), sa.column('name_key', sa.String))
    bind = op.get_bind()
    update = (table.update().where(table.c.id == sa.bindparam('row_id'))
              .values(passport_key=sa.bindparam('pk'), name_key=sa.bindparam('nk')))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.family_name, table.c.given_names,
                      table.c.passport_number)
            .where(table.c.id > last).order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            return
        bind.execute(update, [{"row_id": r.id, "pk": _passport_key(r.passport_number),
                               "nk": _name_key(r.family_name, r.given_names)} for r in rows])
        last = rows[-1].id


def upgrade():
    for table in ('applicants', 'dependants'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('passport_key', sa.String(length=40), nullable=True))
            batch_op.add_column(sa.Column('name_key', sa.String(length=320), nullable=True))
        _backfill(table)
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.create_index('ix_applicants_passport_key_nationality',
                              ['passport_key', 'nationality'], unique=False)
        batch_op.create_index('ix_applicants_name_key_date_of_birth',
                              ['name_key', 'date_of_birth'], unique=False)
    current = sa.text('removed_at IS NULL')
    with op.batch_alter_table('dependants', schema=None) as batch_op:
        batch_op.create_index('ix_dependants_current_passport_key_nationality',
                              ['passport_key', 'nationality'], unique=False,
                              sqlite_where=current, postgresql_where=current)
        batch_op.create_index('ix_dependants_current_name_key_date_of_birth',
                              ['name_key', 'date_of_birth'], unique=False,
                              sqlite_where=current, postgresql_where=current)


def downgrade():
    # SQLite re-creates the tables to drop their columns, reflecting applicants (directly, or
    # through the foreign keys), and can neither read nor carry over an expression index: the
    # search's index on lower(email) is set aside and made again.
    op.drop_index('ix_applicants_lower_email', table_name='applicants')
    with op.batch_alter_table('dependants', schema=None) as batch_op:
        batch_op.drop_index('ix_dependants_current_name_key_date_of_birth')
        batch_op.drop_index('ix_dependants_current_passport_key_nationality')
        batch_op.drop_column('name_key')
        batch_op.drop_column('passport_key')
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_index('ix_applicants_name_key_date_of_birth')
        batch_op.drop_index('ix_applicants_passport_key_nationality')
        batch_op.drop_column('name_key')
        batch_op.drop_column('passport_key')
    op.create_index('ix_applicants_lower_email', 'applicants', [sa.text('lower(email)')],
                    unique=False)

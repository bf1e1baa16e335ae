"""Print the plans of the duplicate rules' lookup for real people of a loaded database.

For an applicant and a spouse taken from the database (so each rule finds someone), the
statement ``duplicates.find_matches`` runs is explained with ``EXPLAIN (ANALYZE, BUFFERS)``:
each rule's select should read its own index, never scan applicants or dependants::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scratch \\
        PYTHONPATH=. .venv/bin/python bench/explain_duplicates.py
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import select, text

from backoffice import create_app
from backoffice.cases import duplicates
from backoffice.cases.models import Applicant, Case, Dependant, Relationship
from backoffice.extensions import db
from config import DevelopmentConfig


def _plan(statement) -> str:
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    rows = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql))
    return "\n".join(row[0] for row in rows)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database loaded with `flask seed-demo`.")
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://", 1))
    with app.app_context():
        total = db.session.scalar(text("SELECT count(*) FROM cases"))
        applicant, case_id = db.session.execute(
            select(Applicant, Case.id).join(Case, Case.applicant_id == Applicant.id)
            .where(Applicant.hkid.is_not(None)).order_by(Applicant.id.desc()).limit(1)).one()
        spouse = db.session.scalars(select(Dependant).where(
            Dependant.relation == Relationship.SPOUSE, Dependant.removed_at.is_(None))
            .order_by(Dependant.id.desc()).limit(1)).one()
        print(f"## The duplicate rules' lookup at {total:,} cases\n")
        for title, person, exclude in (
                (f"An applicant typed again (passport {applicant.passport_number}, an HKID, "
                 f"name and date of birth), from another case", applicant, None),
                (f"A spouse typed again as a new applicant (passport {spouse.passport_number})",
                 spouse, None),
                ("The same applicant, checked on its own case (excluded)", applicant, case_id)):
            statement = duplicates.matches_statement(duplicates.Identity.of(person), exclude)
            found = len(duplicates.find_matches(duplicates.Identity.of(person), exclude))
            print(f"### {title}: {found} match(es)\n\n```\n{_plan(statement)}\n```\n")


if __name__ == "__main__":
    main()

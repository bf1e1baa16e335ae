"""Print PostgreSQL's EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) of the header search's statement
for each query given, as the app sends it (``cases.search``'s own UNION ALL, its values
bound).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_search PYTHONPATH=. \\
        .venv/bin/python bench/explain_search.py "NK990648" "marti" "马伟"

Each query is run once before it is explained, so the plan shows a warm cache (the case a
caseworker meets after the first search of the day).
"""

from __future__ import annotations

import sys

from backoffice import create_app
from backoffice.cases import search
from backoffice.extensions import db
from config import Config


def explain(query: str) -> str:
    statement, parameters = search.statement(search.Terms.read(query))
    compiled = statement.compile(dialect=db.engine.dialect)
    values = compiled.params | parameters
    connection = db.session.connection()
    # Sent with its values bound, as the app sends it: PostgreSQL plans for those values.
    connection.exec_driver_sql(str(compiled), values).all()
    plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(compiled),
                                      values).scalars()
    return "\n".join(plan)


def main(queries: list[str]) -> None:
    app = create_app(Config)
    with app.app_context():
        for query in queries:
            print(f"### {query!r}\n")
            print(explain(query))
            print()


if __name__ == "__main__":
    main(sys.argv[1:])

"""The demo data has true quota counters: the curated demo (its stories through the services,
its year through the bulk loader) and ``--cases N`` (places sent by COPY, then counted again)
leave every year's month and nationality counters equal to its active allocations."""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.quota.models import QuotaMonthCount
from tests.quota.test_counters import assert_counters_true


def test_seed_demo_and_the_bulk_loader_leave_true_counters(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.sum(QuotaMonthCount.allocated))) > 0
    assert_counters_true()
    result = runner.invoke(args=["seed-demo", "--cases", "300", "--chunk-size", "100"])
    assert result.exit_code == 0, result.output
    assert_counters_true()

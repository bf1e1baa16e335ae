"""Case tests approve QMAS cases; approval needs the year's quota, so open it (no limit).

The quota rules themselves are tested in tests/quota/, where no quota is opened for you.
"""

from __future__ import annotations

import pytest

from backoffice.auth.models import Role
from backoffice.quota.models import QuotaPeriod

QUOTA_YEARS = range(2020, 2031)


@pytest.fixture(autouse=True)
def open_qmas_quota(request):
    if "db" not in request.fixturenames:
        return
    db = request.getfixturevalue("db")
    setter = request.getfixturevalue("make_user")(Role.SUPERVISOR, email="quota-setter@example.org")
    db.session.add_all(QuotaPeriod(scheme="QMAS", year=year, quota_limit=None, allocated=0,
                                   set_by_id=setter.id) for year in QUOTA_YEARS)
    db.session.commit()
